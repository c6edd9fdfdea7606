"""Which numbering a PDF uses: a run of numbered paragraphs, numbered headings, run-in headings.

Read over the whole document before its tree is built, so that the tree builder knows whether
"(17)" or "27." numbers paragraphs in one run (and from which item), or only lists.
"""

from __future__ import annotations

import re
from itertools import accumulate

from ingest.parsers.pdf_blocks import Item
from ingest.parsers.pdf_numbering import SECTION_STYLES, Label, read_labels

MIN_NUMBERED_PARAGRAPHS = 20  # a run this long of (1), (2), ... across headings is paragraph numbering
RUN_IN_TITLE = re.compile(r"^\s*([A-Z‘“'\"(][^.]{1,150}?\.)(?:\s+|$)")
CAPITALS = re.compile(r"\s*(?:[A-Z][A-Z’'-]+\b\s*){1,8}(?=\s[A-Z][a-z]|$)")  # "STRENGTHENING AI GOVERNANCE"


def paragraph_style(items: list[Item]) -> tuple[tuple[str, str], int] | None:
    """The (style, form) of numbered paragraphs ("(17)" or "27.") and the index of the item that
    opens their run, when the document numbers its paragraphs in one run across its headings.
    The longest run wins, so that a short list numbered 1-4 before the text does not count."""
    best: tuple[int, tuple[tuple[str, str], int] | None] = (0, None)
    headings = list(accumulate(item.kind == "heading" for item in items))  # headings read so far
    for form in ("paren", "dot"):
        numbers = [(index, _paragraph_number(item, form)) for index, item in enumerate(items)]
        for start, number in numbers:
            if number != 1:
                continue
            last, count, under = 0, 0, set()
            for index, value in numbers[start:]:
                if value and 0 < value - last <= 3:
                    last, count = value, count + 1
                    under.add(headings[index])
            # a list under one heading (a bibliography) is not paragraph numbering; on a tie the later run
            if count >= MIN_NUMBERED_PARAGRAPHS and len(under) >= 3 and count >= best[0]:
                best = (count, (("number", form), start))
    return best[1]


def _paragraph_number(item: Item, form: str) -> int:
    """The number of a paragraph labelled "(N)" or "N." in `form`, 0 for any other item."""
    if item.kind != "para":
        return 0
    labels = [label for label in read_labels(item.text) if label.style == "number" and label.form == form]
    return int(labels[0].value) if labels else 0


def has_numbering(items: list[Item]) -> bool:
    """Whether the document numbers its parts: numbered paragraphs or numbered section headings."""
    if paragraph_style(items):
        return True
    numbered = {label.value for item in items for label in read_labels(item.text)[:1]
                if label.style in SECTION_STYLES and (item.kind == "heading" or run_in_heading(item.text, label))}
    return len(numbered) >= 3


def run_in_heading(text: str, label: Label) -> bool:
    """Whether a paragraph opens with a numbered heading of its own ("Sec. 2. Policy and Principles.")."""
    if label.style in ("section", "function", "action"):
        return True
    if label.style == "dotted" and "." not in label.value:
        return bool(CAPITALS.match(text[label.end:]))  # a memo's "1. OVERVIEW"
    title = RUN_IN_TITLE.match(text[label.end:])
    return label.style == "dotted" and "." in label.value and title is not None and len(title.group(1).split()) <= 16


def numbered_section(text: str) -> bool:
    """Whether the text opens with a section number ("4.2.1.", "Sec. 4.")."""
    return any(label.style in SECTION_STYLES for label in read_labels(text))


def roman_heading(text: str) -> bool:
    """A short line opening with a capital roman numeral and no sentence: "II. Elements of ..."."""
    labels = read_labels(text)
    return (bool(labels) and labels[0].word == "Section" and labels[0].value.strip("IVX") == ""
            and len(text.split()) <= 14 and not text.rstrip().endswith((".", ":", ";", ",")))


def short_heading(text: str, label: Label) -> str:
    """The run-in heading of a memo section ("1. OVERVIEW"), or its label alone."""
    if capitals := CAPITALS.match(text[label.end:]):
        return text[:label.end + capitals.end()].strip()
    title = RUN_IN_TITLE.match(text[label.end:])
    return text[:label.end + title.end(1)] if title and len(title.group(1).split()) <= 12 else text[:label.end]
