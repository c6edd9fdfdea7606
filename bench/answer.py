"""Answer quality and speed over bench/questions.jsonl, with a model backend and without one.

    python bench/answer.py [--backend llama-cpp] [--limit N] [--questions FILE] [--facts FILE] [--only-facts]

Uses the store in KB_HOME (run `kb ingest` first). For each question it asks twice: with the
model backend and with the extractive one. Prints: share of answerable questions whose answer
cites a gold passage, share of generated sentences kept by verification, the modes, abstention on
unanswerable questions, first-token and total latency, tokens/s, and extractive time after
retrieval. Also checks the promise that no sentence of any answer lacks a supporting citation.

"Facts stated": bench/facts.jsonl lists, for answerable questions, the key facts a good answer
states (figures, dates, terms; written from the gold passages, each with its spelling
alternatives); the share of those the answer's text states, and the share of cited AI Act and
GDPR provisions that carry their date of application. --only-facts asks only those questions
(and the unanswerable ones).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.answers import answer_units, is_quote
from kb.api import KnowledgeBase
from kb.evaluate import is_gold, load_questions

HERE = Path(__file__).resolve().parent


def cites_gold(answer, question) -> bool:
    return any(is_gold(citation.passage, question) for citation in answer.citations)


def uncited_sentences(answer) -> int:
    """Sentences with no [n], or an [n] that is not a citation: must be 0 (the promise)."""
    if answer.mode == "abstained":
        return 0
    numbers = {c.n for c in answer.citations}
    bad = 0
    for sentence in answer_units(answer.text):
        found = {int(n) for n in re.findall(r"\[(\d+)\]", sentence)}
        bad += not found or not found <= numbers
    return bad


# Cited provisions of these documents must carry their date of application.
DATED_DOCUMENTS = ("eu-ai-act", "gdpr")


def load_facts(path: Path) -> dict[str, list[list[str]]]:
    """Question id -> its key facts, each a list of spelling alternatives."""
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row["facts"] for row in rows}


def normalised(text: str) -> str:
    """Case, spacing, thousands separators and "7 %" folded, so "EUR 35 000 000" meets "EUR 35000000"."""
    text = " ".join(text.replace("\u00a0", " ").replace("’", "'").casefold().split())
    text = re.sub(r"(?<=\d)[ ,](?=\d{3}\b)", "", text)
    return re.sub(r"(?<=\d) %", "%", text)


def facts_stated(answer, facts: list[list[str]]) -> int:
    """How many of the facts the answer's text states (any one spelling of each)."""
    said = normalised(answer.text)
    return sum(any(normalised(spelling) in said for spelling in spellings) for spellings in facts)


def dated_citations(answers) -> tuple[int, int]:
    """(cited provisions of DATED_DOCUMENTS with an applies_from, all such cited provisions)."""
    provisions = [c for _, a, _ in answers for c in a.citations
                  if c.passage.doc_id in DATED_DOCUMENTS and c.passage.kind not in ("recital", "preamble")]
    return sum(bool(c.applies_from) for c in provisions), len(provisions)


def pct(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(share * (len(values) - 1)))] if values else float("nan")


def run(kb: KnowledgeBase, questions, backend: str, facts: dict[str, list[list[str]]] | None = None) -> dict:
    answers = []
    for question in questions:
        started = time.perf_counter()
        answer = kb.ask(question.question, backend=backend)
        answers.append((question, answer, time.perf_counter() - started))
    answerable = [(q, a) for q, a, _ in answers if q.answerable]
    unanswerable = [(q, a) for q, a, _ in answers if not q.answerable]
    generated_kept = sum(not is_quote(unit) for _, a, _ in answers if a.mode == "generated"
                         for unit in answer_units(a.text))
    dropped = sum(len(a.dropped_sentences) for _, a, _ in answers)
    first = [a.timings_ms["first_token"] for _, a, _ in answers if "first_token" in a.timings_ms]
    after_retrieval = [a.timings_ms["total"] - a.timings_ms["retrieve"]
                       for _, a, _ in answers if a.mode == "extractive"]
    tokens = sum(a.generated_tokens for _, a, _ in answers)
    generate_s = sum(a.timings_ms.get("generate", 0) for _, a, _ in answers) / 1000
    facts = facts or {}
    with_facts = [(q, a) for q, a in answerable if q.id in facts]
    dated, provisions = dated_citations(answers)
    return {
        "facts_stated": sum(facts_stated(a, facts[q.id]) for q, a in with_facts),
        "facts_total": sum(len(facts[q.id]) for q, _ in with_facts),
        "facts_questions": len(with_facts),
        "facts_missed": {q.id: [spellings[0] for spellings in facts[q.id]
                                if not facts_stated(a, [spellings])] for q, a in with_facts
                         if facts_stated(a, facts[q.id]) < len(facts[q.id])},
        "dated_citations": dated, "dated_provisions": provisions,
        "backend": backend,
        "gold_cited": sum(cites_gold(a, q) for q, a in answerable) / max(1, len(answerable)),
        "answerable_abstained": sum(a.mode == "abstained" for _, a in answerable) / max(1, len(answerable)),
        "unanswerable_abstained": sum(a.mode == "abstained" for _, a in unanswerable) / max(1, len(unanswerable)),
        "kept_share": generated_kept / max(1, generated_kept + dropped) if backend != "extractive" else None,
        "modes": dict(Counter(a.mode for _, a, _ in answers)),
        "uncited_sentences": sum(uncited_sentences(a) for _, a, _ in answers),
        "uncited_in": [q.id for q, a, _ in answers if uncited_sentences(a)],
        "first_token_p50_ms": pct(first, 0.5), "first_token_p95_ms": pct(first, 0.95),
        "total_p50_s": pct([s for *_, s in answers], 0.5), "total_p95_s": pct([s for *_, s in answers], 0.95),
        "tokens_per_s": tokens / generate_s if generate_s else None,
        "after_retrieval_p50_ms": pct(after_retrieval, 0.5), "after_retrieval_p95_ms": pct(after_retrieval, 0.95),
        "misses": [q.id for q, a in answerable if not cites_gold(a, q)],
        "wrongly_answered": [q.id for q, a in unanswerable if a.mode != "abstained"],
    }


def show(report: dict) -> None:
    print(f"\nbackend {report['backend']}: modes {report['modes']}")
    print(f"  gold passage cited      {report['gold_cited']:.0%} of answerable "
          f"({report['answerable_abstained']:.0%} of answerable abstained)")
    print(f"  unanswerable abstained  {report['unanswerable_abstained']:.0%}")
    if report["kept_share"] is not None:
        print(f"  generated sentences kept {report['kept_share']:.0%}")
    print(f"  sentences without a supporting citation: {report['uncited_sentences']} "
          f"{' '.join(report['uncited_in'])}")
    if report["first_token_p50_ms"] == report["first_token_p50_ms"]:  # not NaN
        print(f"  first token p50 {report['first_token_p50_ms']:.0f} ms, p95 {report['first_token_p95_ms']:.0f} ms;"
              f" {report['tokens_per_s'] or 0:.1f} tokens/s")
    print(f"  total p50 {report['total_p50_s']:.2f} s, p95 {report['total_p95_s']:.2f} s")
    if report["after_retrieval_p50_ms"] == report["after_retrieval_p50_ms"]:
        print(f"  extractive answers after retrieval: p50 {report['after_retrieval_p50_ms']:.0f} ms, "
              f"p95 {report['after_retrieval_p95_ms']:.0f} ms")
    if report["facts_total"]:
        print(f"  facts stated            {report['facts_stated'] / report['facts_total']:.0%} "
              f"({report['facts_stated']} of {report['facts_total']} facts, {report['facts_questions']} questions)")
        missed = "; ".join(f"{qid}: {', '.join(found)}" for qid, found in report["facts_missed"].items())
        print(f"  facts not stated: {missed or '-'}")
    if report["dated_provisions"]:
        print(f"  AI Act/GDPR provisions cited with their date of application: "
              f"{report['dated_citations']} of {report['dated_provisions']}")
    print(f"  gold not cited: {' '.join(report['misses']) or '-'}")
    print(f"  unanswerable but answered: {' '.join(report['wrongly_answered']) or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    parser.add_argument("--backend", default=None, help="model backend (default: KB_LLM_BACKEND)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--facts", type=Path, default=HERE / "facts.jsonl", help="key facts per question")
    parser.add_argument("--only-facts", action="store_true",
                        help="ask only the questions that have key facts, and the unanswerable ones")
    args = parser.parse_args()
    facts = load_facts(args.facts)
    kb = KnowledgeBase.open()
    if not kb.documents():
        sys.exit(f"the store at {kb.home} is empty: run `kb ingest` first")
    questions = load_questions(args.questions)
    if args.only_facts:
        questions = [q for q in questions if q.id in facts or not q.answerable]
    if args.limit:
        questions = questions[:args.limit]
    kb.embedder  # noqa: B018 - loaded before the clock starts
    print(f"{len(questions)} questions; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{statistics.mean(os.getloadavg()[:1]):.1f} load at start")
    kb.ask("warm-up: which AI practices are banned?", backend="extractive")
    for backend in dict.fromkeys([args.backend or kb.settings.llm_backend, "extractive"]):
        if backend != "extractive":
            kb.ask("warm-up: which AI practices are banned?", backend=backend)
        show(run(kb, questions, backend, facts))


if __name__ == "__main__":
    main()
