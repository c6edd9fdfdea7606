"""`kb search --batch`, `kb ask --batch` and the Ask page's question list: a checklist of
questions answered in one go.

A question file holds one question per line, or JSON lines with `id` and `question`; blank lines
are skipped. Each question's result is a JSON record (its `id` and `question`, then the hits or
the answer), written as JSON lines or as a Markdown or CSV report.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.answers import checked_question
from kb.errors import UsageError

FORMATS = ("jsonl", "md", "csv")
PROGRESS_FROM = 4  # fewer questions than this finish before a bar would be worth reading


@dataclass(frozen=True)
class BatchQuestion:
    """One question of a batch file and the line it came from."""

    id: str
    question: str
    line: int


def read_questions(path: Path) -> list[BatchQuestion]:
    """The questions of a file, checked before any model loads; a UsageError naming the line
    of the first bad one, or saying that the file holds none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the question file {path}: {exc}") from exc
    return parse_questions(text, str(path))


def uploaded_questions(name: str, content: bytes, most: int) -> list[BatchQuestion]:
    """The questions of a file sent through the app: a UsageError for an empty or binary file,
    one of more than `most` questions, or a bad line (as read_questions)."""
    if not content.strip():
        raise UsageError(f"{name} is empty; write one question per line, or JSON lines with "
                         '"id" and "question"')
    try:
        text = content.decode("utf-8-sig")
        binary = "\0" in text  # valid UTF-8, but in no text file
    except UnicodeDecodeError:
        text, binary = "", True
    if binary:
        raise UsageError(f"{name} is not a text file; save the questions as plain text (UTF-8), "
                         "one per line or as JSON lines")
    count = sum(1 for line in text.splitlines() if line.strip())
    if count > most:
        raise UsageError(f"{name} holds {count} questions; the app answers at most {most} at a time "
                         "(KB_BATCH_MAX_QUESTIONS), and `kb ask --batch` any number")
    return parse_questions(text, name)


def parse_questions(text: str, source: str) -> list[BatchQuestion]:
    """The questions of a question file's text (`source` names it in messages)."""
    lines = text.splitlines()
    questions = [question_of(line, number, source) for number, line in enumerate(lines, 1) if line.strip()]
    if not questions:
        raise UsageError(f"{source} holds no questions; write one per line, or JSON lines with "
                         '"id" and "question"')
    seen: dict[str, int] = {}
    for question in questions:
        if question.id in seen:
            raise UsageError(f"{source}, line {question.line}: id '{question.id}' is already used "
                             f"on line {seen[question.id]}")
        seen[question.id] = question.line
    return questions


def question_of(text: str, number: int, source: str) -> BatchQuestion:
    """A line as a question: a JSON object when it starts with "{", else the line itself."""
    where = f"{source}, line {number}"
    if not text.lstrip().startswith("{"):
        question, line_id = text, str(number)
    else:
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        question = record.get("question")
        if not isinstance(question, str):
            raise UsageError(f'{where}: a JSON line needs a "question" string')
        line_id = str(record["id"]) if record.get("id") not in (None, "") else str(number)
    try:
        return BatchQuestion(line_id, checked_question(question), number)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from exc


def run(questions: list[BatchQuestion], answer_one: Callable[[str], dict],
        progress: bool = True) -> Iterator[dict]:
    """Each question's record ({"id", "question", ...what `answer_one` returns}), in file order,
    with a progress bar on standard error for more than a few questions."""
    return with_progress(records(questions, answer_one), len(questions), progress)


def with_progress(done: Iterable[dict], total: int, progress: bool = True) -> Iterator[dict]:
    """The records of a batch of `total` questions, with a progress bar on standard error for more
    than a few."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    shown = progress and total >= PROGRESS_FROM
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not shown) as bar:
        task = bar.add_task("questions", total=total)
        for record in done:
            yield record
            bar.advance(task)


def records(questions: list[BatchQuestion], answer_one: Callable[[str], dict]) -> Iterator[dict]:
    """Each question's record ({"id", "question", ...what `answer_one` returns}), in file order."""
    for question in questions:
        yield {"id": question.id, "question": question.question, **answer_one(question.question)}


def formatted(records: list[dict], kind: str, output_format: str) -> str:
    """The records of a search ("search") or ask ("ask") batch as JSON lines, Markdown or CSV."""
    if output_format == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if output_format == "md":
        sections = [search_markdown(r) if kind == "search" else answer_markdown(r) for r in records]
        return "\n".join(sections)
    if output_format == "csv":
        return search_csv(records) if kind == "search" else answer_csv(records)
    raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not '{output_format}'")


def link(text: str, url: str) -> str:
    """A Markdown link, or the text alone when there is no URL."""
    shown = text.replace("[", "\\[").replace("]", "\\]")
    return f"[{shown}]({url})" if url else shown


def search_markdown(record: dict) -> str:
    lines = [f"## {record['id']}. {record['question']}", ""]
    if record.get("no_good_match"):
        lines += ["_No passage matches this well; the nearest ones are:_", ""]
    if not record["hits"]:
        lines += ["No passages found.", ""]
    for hit in record["hits"]:
        text = " ".join(hit["text"].split())
        text = text if len(text) <= 300 else text[:299] + "…"
        lines += [f"{hit['rank']}. {link(hit['title'] + ', ' + hit['locator'], hit['url'])} "
                  f"(score {hit['score']:.3f})", f"   > {text}", ""]
    return "\n".join(lines)


def answer_markdown(record: dict) -> str:
    # Each answer line (one quote) its own paragraph: Markdown would run single lines together.
    answer = "\n\n".join(line.strip() for line in record["answer"].splitlines() if line.strip())
    lines = [f"## {record['id']}. {record['question']}", "", answer, "",
             f"_mode: {record['mode']}, as of {record.get('as_of') or 'today'}_", ""]
    for title, citations in (("Citations", record["citations"]), ("Definitions", record.get("definitions", [])),
                             ("Related", record.get("related", []))):
        if citations:
            lines += [f"**{title}**", ""]
            lines += [f"- [{c['n']}] {link(c['reference'], c['url'])}{applies_note(c)}" for c in citations]
            lines.append("")
    for hit in record.get("see_also", []):
        lines.append(f"- see also: {link(hit['title'] + ', ' + hit['locator'], hit['url'])}")
    return "\n".join(lines).rstrip() + "\n"


def applies_note(citation: dict) -> str:
    if not citation.get("applies_from"):
        return f" ({citation['status']})" if citation.get("status") else ""
    return f" ({citation.get('status') or 'applies'}; applies from {citation['applies_from']})"


def search_csv(records: list[dict]) -> str:
    """One row per hit (a question without hits gets one row with no rank)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "question", "rank", "score", "doc_id", "locator", "url", "no_good_match"])
    for record in records:
        rows = record["hits"] or [{"rank": "", "score": "", "doc_id": "", "locator": "", "url": ""}]
        for hit in rows:
            writer.writerow([record["id"], record["question"], hit["rank"], hit["score"], hit["doc_id"],
                             hit["locator"], hit["url"], str(record.get("no_good_match", False)).lower()])
    return out.getvalue()


def answer_csv(records: list[dict]) -> str:
    """One row per question: its answer, mode, and citations as "[n] reference <url>"."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "question", "mode", "answer", "citations"])
    for record in records:
        citations = "; ".join(f"[{c['n']}] {c['reference']} <{c['url']}>" for c in record["citations"])
        writer.writerow([record["id"], record["question"], record["mode"], record["answer"].strip(), citations])
    return out.getvalue()
