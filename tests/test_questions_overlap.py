"""bench/questions.jsonl measures search and answers; a test that asked one of its questions
would let a fix made for the test move the benchmark figure. So no string in the tests is one of
those questions (compared without case, punctuation or spacing)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tests.conftest import REPO

BENCH_QUESTIONS = REPO / "bench" / "questions.jsonl"
# Asked by tests/test_corpus_e2e.py today; the corpus branch (issue 16), which owns that file and
# the benchmark, replaces them. Nothing may be added here.
KNOWN_REUSE = {
    "how does the oecd define an ai system",
    "art 22 gdpr",
    "what s a good recipe for banana bread",
    "who won the 2022 fifa world cup final",
}


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def bench_questions() -> set[str]:
    lines = BENCH_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return {normalized(json.loads(line)["question"]) for line in lines if line.strip()}


def string_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal in a test module, f-string pieces included."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_test_asks_a_benchmark_question():
    questions = bench_questions()
    assert len(questions) > 50  # the benchmark was read
    reused = [f"{path.name}:{line}: {text!r}" for path in sorted(Path(__file__).parent.glob("*.py"))
              if path.name != Path(__file__).name
              for line, text in string_literals(path)
              if normalized(text) in questions and normalized(text) not in KNOWN_REUSE]
    assert reused == [], "tests ask benchmark questions; write your own:\n" + "\n".join(reused)


def test_the_comparison_ignores_case_punctuation_and_spacing():
    assert normalized("  Art. 22  GDPR? ") == normalized("art 22 gdpr") == "art 22 gdpr"
