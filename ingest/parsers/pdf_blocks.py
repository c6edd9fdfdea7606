"""PDF lines to items: headings and paragraphs in reading order, footnotes as their own items.

Headings are told from body text by type size and weight; lines are joined into paragraphs
(hyphenation undone), split where a list item or a numbered unit ("(17)", "4.2.", "GV-1.1-001")
opens; table-of-contents entries are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.parsers.common import collapse, join_lines, numbering_depth
from ingest.parsers.pdf_layout import Block, Line, Page
from ingest.parsers.pdf_numbering import opens_unit

COVER_PAGES = 3  # the title page is looked for among the first pages
_BULLET = re.compile(r"^[•▪●◦■□➢►✓\uf0a7\uf0b7\uf0d8\uf0fc]\s*")
_DASH = re.compile(r"^[‒–\-*]\s+")  # a list item only where the line hangs out to the left
_ENUMERATOR = re.compile(r"^\(?(\d{1,2}|[a-z]|[ivx]{1,4})[.)]\s", re.IGNORECASE)
_DIVISIONS = {"part": 0, "annex": 0, "appendix": 0, "schedule": 0, "title": 1, "chapter": 2, "section": 3}
LABEL = re.compile(rf"^(?i:({'|'.join(_DIVISIONS)}))\s+(\d+|[IVXLC]+|[A-Z])\b")
_ENDS_IN_NUMBER = re.compile(r"\D\s?\d{1,3}$")  # a contents entry whose page number lost its leader
_TERMINAL = (".", "!", "?", ":", ";", ".”", ".’", '."', ".)")
_USELESS_TITLE = re.compile(r"^(untitled|document\d*|slide \d+)$|\.(docx?|pdf|indd|pptx?)$", re.IGNORECASE)


@dataclass
class Item:
    """A heading, a paragraph or a footnote, in reading order."""

    kind: str  # "heading", "para" or "note"
    text: str
    page: int
    size: float = 0.0
    bold: bool = False
    bottom: float = 0.0
    lines: list[Line] = field(default_factory=list)
    label: str = ""  # a footnote's number


def division_rank(text: str) -> int | None:
    """Rank of a labelled division heading ("Part 2" 0, "Chapter 3" 2), None for other text."""
    label = LABEL.match(text)
    return _DIVISIONS[label.group(1).lower()] if label else None


def page_items(page: Page, body_size: float, vocabulary: set[str]) -> list[Item]:
    """Headings and paragraphs of one page, then its footnotes; contents entries are left out."""
    lines = [line for block in page.blocks for line in block.lines]
    refs = sum(line.page_ref for line in lines)
    is_contents = refs >= 3
    all_contents = is_contents and refs >= 0.4 * len(lines)  # a contents page: its wrapped entries go too
    items: list[Item] = []
    for block in page.blocks:
        if is_contents and any(line.page_ref or _ENDS_IN_NUMBER.search(line.text) for line in block.lines):
            continue
        if all_contents and not _is_heading(block, body_size):
            continue
        if _is_heading(block, body_size):
            _add_heading(items, block)
        elif items and items[-1].kind == "para" and _continues(items[-1].lines[-1], block.lines[0]):
            items[-1].lines.extend(block.lines)
        else:
            items.append(Item("para", "", block.page, lines=list(block.lines)))
    paragraphs = [item for group in items for item in _paragraphs(group, vocabulary)]
    notes = [Item("note", join_lines([line.text for line in lines], vocabulary), page.number,
                  label=lines[0].note or lines[0].text.split()[0])
             for lines in page.footnote_lines]
    return paragraphs + [note for note in notes if note.text.strip()]


def _is_heading(block: Block, body_size: float) -> bool:
    """A short block, all bold or larger than body text, that does not end like a sentence."""
    lines = block.lines
    text = " ".join(line.text for line in lines)
    if len(lines) > 3 or len(text) > 150 or not all(line.horizontal for line in lines):
        return False
    if text.endswith((".", ",", ";", ":")) or _BULLET.match(text):
        return False
    letters = sum(char.isalpha() for char in text)
    if letters < 2 or letters < 0.4 * len(text.replace(" ", "")):
        return False
    styled = all(line.bold or line.size >= body_size + 1 for line in lines)
    return styled and all(line.size >= body_size - 0.5 for line in lines)


def _add_heading(items: list[Item], block: Block) -> None:
    """Append a heading, joining it to the previous one when a title runs over two blocks."""
    text = join_lines([line.text for line in block.lines])  # "Arti-" + "ficial Intelligence"
    size, top = max(line.size for line in block.lines), block.lines[0].bbox[1]
    bold = all(line.bold for line in block.lines)
    previous = items[-1] if items else None
    if (previous and previous.kind == "heading" and abs(previous.size - size) < 0.5 and previous.bold == bold
            and 0 <= top - previous.bottom < 0.6 * size and not numbering_depth(text) and not LABEL.match(text)):
        previous.text, previous.bottom = join_lines([previous.text, text]), block.lines[-1].bbox[3]
        return
    items.append(Item("heading", text, block.page, size=size, bold=bold, bottom=block.lines[-1].bbox[3]))


def _continues(last: Line, first: Line) -> bool:
    """Whether a block carries on the paragraph of the block before it (split by a font change)."""
    if last.text.endswith(_TERMINAL):
        return False
    starts_lower = first.text[:1].islower()
    if not (last.horizontal and first.horizontal):
        return starts_lower
    if first.bbox[0] >= last.bbox[2] or last.bbox[0] >= first.bbox[2]:
        return False
    gap = first.bbox[1] - last.bbox[3]
    return 0 <= gap < (2.5 if starts_lower or last.text.endswith("-") else 0.8) * last.size


def _paragraphs(item: Item, vocabulary: set[str]) -> list[Item]:
    """Split a text group at bullets, hanging list numbers and numbered units; join each part's lines."""
    if item.kind == "heading":
        return [item]
    groups: list[list[Line]] = []
    right = max(line.bbox[2] for line in item.lines)
    for line in item.lines:
        if not groups or _starts_item(line, groups[-1], right):
            groups.append([])
        groups[-1].append(line)
    paragraphs = []
    for group in groups:
        text = _DASH.sub("", _BULLET.sub("", join_lines([line.text for line in group], vocabulary)))
        if text.strip():
            paragraphs.append(Item("para", text, item.page, size=max(line.size for line in group),
                                   bold=all(line.bold for line in group)))
    return paragraphs


def _starts_item(line: Line, group: list[Line], right: float) -> bool:
    """Whether a line opens a list item: a bullet, a numbered unit after a finished sentence or
    a short line, or a number or dash that hangs out or lines up with the last."""
    if _BULLET.match(line.text):
        return True
    previous = group[-1]
    short = previous.bbox[2] < right - 0.3 * (right - previous.bbox[0])
    if opens_unit(line.text, previous.text, short or line.bbox[0] < previous.bbox[0] - 3):
        return True
    if not (_ENUMERATOR.match(line.text) or _DASH.match(line.text)):
        return False
    hangs = line.bbox[0] < group[-1].bbox[0] - 3
    opener = group[0]
    opens_list = bool(_ENUMERATOR.match(opener.text) or _DASH.match(opener.text))
    return hangs or (opens_list and abs(line.bbox[0] - opener.bbox[0]) < 6)


def meaningful_title(title: str) -> str:
    """The metadata title unless it is empty, a file name or a placeholder."""
    title = collapse(re.sub(r"^microsoft (word|powerpoint) - ", "", title or "", flags=re.IGNORECASE))
    if len(title.split()) < 2 or _USELESS_TITLE.search(title):
        return ""
    return title


def largest_heading(items: list[Item]) -> str:
    """The longest heading of three words or more in the largest type on the first pages."""
    early = [item for item in items if item.kind == "heading" and item.page <= COVER_PAGES
             and len(set(item.text.split())) >= 3]
    return max(early, key=lambda item: (item.size, len(item.text))).text if early else ""


def demote_cover_headings(items: list[Item], title: str) -> list[Item]:
    """On cover pages (title in the largest type, little body text) headings are plain text."""
    headings = [item for item in items if item.kind == "heading"]
    if not headings:
        return items
    largest = max(item.size for item in headings)
    words: Counter[int] = Counter()
    for item in items:
        if item.kind == "para":
            words[item.page] += len(item.text.split())
    covers = {item.page for item in headings if item.page <= COVER_PAGES and words[item.page] < 80
              and (item.size >= largest - 0.5 or same_text(item.text, title))}
    result = []
    for item in items:
        if item.kind == "heading" and same_text(item.text, title):
            continue  # the document's title, not a section of it
        result.append(Item("para", item.text, item.page) if item.kind == "heading" and item.page in covers else item)
    return result


def same_text(a: str, b: str) -> bool:
    """Equal ignoring case and spacing."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
