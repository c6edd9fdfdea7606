"""`kb search --batch` and `kb ask --batch` on the small store: real model, real Chroma."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli


@pytest.fixture
def home(small_home, tmp_path, use_home) -> Path:
    """A copy of the small store as KB_HOME, opened with the session's model."""
    return use_home(Path(shutil.copytree(small_home, tmp_path / "kb-home")))


def kb(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_search_batch_of_plain_lines_writes_one_json_line_per_question(home, tmp_path):
    questions = write(tmp_path / "q.txt", "Must a drone be registered?\n\n   \nDo children need a helmet?\n")
    result = kb("search", "--batch", questions, "-k", "2")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["1", "4"]  # blank lines skipped, ids are line numbers
    assert records[0]["question"] == "Must a drone be registered?"
    assert records[0]["hits"][0]["doc_id"] == "drones" and "250 grams" in records[0]["hits"][0]["text"]
    assert "helmet" in records[1]["hits"][0]["text"]
    assert all(len(r["hits"]) <= 2 for r in records)


def test_search_batch_jsonl_ids_in_markdown_and_csv(home, tmp_path):
    questions = write(tmp_path / "q.jsonl",
                      '{"id": "reg", "question": "drone registration weight"}\n'
                      '{"id": "night", "question": "flying at night light"}\n')
    markdown = kb("search", "--batch", questions, "--format", "md", "-k", "1")
    assert markdown.exit_code == 0, markdown.output
    assert "## reg. drone registration weight" in markdown.stdout
    assert "](https://example.org/drones" in markdown.stdout  # hits are links to their place
    table = kb("search", "--batch", questions, "--format", "csv", "-k", "1")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [(row["id"], row["rank"]) for row in rows] == [("reg", "1"), ("night", "1")]
    assert rows[1]["url"].startswith("https://example.org/drones")
    as_json = [json.loads(line) for line in kb("search", "--batch", questions, "-k", "1").stdout.splitlines()]
    assert [row["locator"] for row in rows] == [r["hits"][0]["locator"] for r in as_json]


@pytest.mark.slow  # which passage answers is a claim about the real model, not the hashing stand-in
def test_ask_batch_extractive_gives_cited_answers_as_jsonl_markdown_and_csv(home, tmp_path):
    questions = write(tmp_path / "q.jsonl",
                      '{"id": "a1", "question": "Which widget practices are prohibited?"}\n'
                      '{"id": "a2", "question": "What light must a drone show at night?"}\n')
    result = kb("ask", "--batch", questions, "--backend", "extractive")
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == {"a1", "a2"}
    assert records["a2"]["question"] == "What light must a drone show at night?"
    assert records["a2"]["mode"] == "extractive" and "green flashing light" in records["a2"]["answer"]
    assert any(c["doc_id"] == "widget-act" for c in records["a1"]["citations"])
    report = kb("ask", "--batch", questions, "--backend", "extractive", "--format", "md")
    assert "## a1. Which widget practices are prohibited?" in report.stdout
    assert "](https://eur-lex.europa.eu/" in report.stdout
    # Each quoted line is a paragraph of its own: Markdown runs adjacent lines into one.
    lines = report.stdout.splitlines()
    marked = [n for n, line in enumerate(lines) if re.search(r"” \[\d+\]$", line)]
    assert len(marked) >= 2 and all(lines[n + 1] == "" for n in marked)
    table = list(csv.DictReader(io.StringIO(
        kb("ask", "--batch", questions, "--backend", "extractive", "--format", "csv").stdout)))
    assert [row["id"] for row in table] == ["a1", "a2"]
    assert table[1]["mode"] == "extractive" and "https://example.org/drones" in table[1]["citations"]


def test_a_progress_bar_shows_on_stderr_for_more_than_a_few_questions(home, tmp_path):
    questions = write(tmp_path / "q.txt", "".join(f"drone rule number {n}\n" for n in range(5)))
    result = kb("search", "--batch", questions, "-k", "1")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 5
    assert "questions" in result.stderr and "5/5" in result.stderr


@pytest.mark.parametrize("text, message", [
    ("drone registration\n{not json\n", "line 2: not valid JSON"),
    ('{"id": "x"}\n', 'line 1: a JSON line needs a "question" string'),
    ('{"id": "x", "question": "  "}\n', "line 1: the question is empty"),
    ('{"id": "x", "question": "one"}\n\n{"id": "x", "question": "two"}\n', "line 3: id 'x' is already used on line 1"),
    ("\n  \n", "holds no questions"),
])
def test_a_bad_question_file_is_a_one_line_error_naming_the_line(home, tmp_path, text, message):
    questions = write(tmp_path / "q.jsonl", text)
    for command in ("search", "ask"):
        result = kb(command, "--batch", questions)
        assert result.exit_code == 2
        assert message in result.output and "Traceback" not in result.output
        assert result.stdout == ""


def test_batch_and_a_single_question_exclude_each_other(home, tmp_path):
    questions = write(tmp_path / "q.txt", "drone\n")
    assert "not both" in kb("search", "drone", "--batch", questions).output
    assert "--batch only" in kb("search", "drone", "--format", "md").output
    assert "--batch FILE" in kb("ask").output
