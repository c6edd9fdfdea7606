"""PDF pages to lines: text with its typography, running headers, footers and footnotes set apart.

The first stage of the PDF parser. It knows fonts and coordinates, nothing of headings or
numbering: every page becomes a list of blocks of lines in reading order, with repeated margin
lines (running heads, page numbers) removed and footnote lines moved out of the body text.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from ingest.parsers.common import clean_text
from kb.errors import ParseError

MARGIN = 0.12  # share of the page height at top and bottom where running headers and footers sit
_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures expanded, no images
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(\s*(of|/)\s*\d{1,4})?[-–—\s]*$",
                          re.IGNORECASE)
_PAGE_REF = re.compile(r"^(\d{1,4}|[ivxlc]{1,6})$", re.IGNORECASE)
_DOT_LEADER = re.compile(r"(\.\s?){4,}\s*(\d{1,4}|[ivxlc]{1,6})$", re.IGNORECASE)
_BOLD_FONT = re.compile(r"bold|black|heavy", re.IGNORECASE)
_FOOTNOTE_START = re.compile(r"^(\d{1,3})(?:\s+|(?=[A-Z‘“]))\S")  # "12 See ..." or a glued "167Climate"


@dataclass
class Line:
    """One line of text with the typography that tells headings from body text."""

    text: str
    size: float
    bold: bool
    bbox: tuple[float, float, float, float]
    horizontal: bool
    page_ref: bool  # ends in a page number after a gap or dot leaders, as in a table of contents
    note: str = ""  # the footnote number when the line opens with a small raised one


@dataclass
class Block:
    """A block of lines as laid out on the page."""

    lines: list[Line]
    page: int
    height: float  # of the page


@dataclass
class Page:
    """One page: body blocks in reading order, and the footnotes printed at its foot."""

    number: int
    blocks: list[Block]
    footnote_lines: list[list[Line]] = field(default_factory=list)  # one list per footnote


def read_pages(document: pymupdf.Document, url: str, max_content: int) -> list[Page]:
    """The text blocks of every page, in reading order."""
    pages = []
    try:
        for page in document.pages():
            if content_size(document, page, max_content) > max_content:
                raise ParseError(f"{url}: page {page.number + 1} inflates to more than "
                                 f"{max_content // 2**20} MB of drawing instructions; refused")
            pages.append(Page(page.number + 1, _read_page(page)))
    except (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase) as error:  # FzError*: a broken object or page tree
        raise ParseError(f"{url}: the PDF is damaged at page {len(pages) + 1} ({error})") from error
    return pages


def content_size(document: pymupdf.Document, page: pymupdf.Page, limit: int) -> int:
    """Inflated size of a page's Flate-compressed content streams, counted up to `limit` in
    1 MB steps so that a bomb is measured without being held in memory."""
    size = 0
    for xref in page.get_contents():
        if "FlateDecode" not in document.xref_get_key(xref, "Filter")[1]:
            continue
        inflater, pending = zlib.decompressobj(), document.xref_stream_raw(xref)
        while pending and size <= limit:
            try:
                size += len(inflater.decompress(pending, 2**20))
            except zlib.error:
                break  # damaged data: MuPDF reads what it can, as for any other stream
            pending = inflater.unconsumed_tail
    return size


def _read_page(page: pymupdf.Page) -> list[Block]:
    """Text blocks of one page; a single-column page is sorted top to bottom."""
    number, height = page.number + 1, page.rect.height
    blocks = []
    for raw in page.get_text("dict", flags=_TEXT_FLAGS)["blocks"]:
        lines = [line for line in map(_read_line, _baseline_rows(raw.get("lines", []))) if line is not None]
        if lines:
            blocks.append(Block(lines, number, height))
    if not _has_columns(blocks):
        blocks.sort(key=lambda block: (round(block.lines[0].bbox[1]), block.lines[0].bbox[0]))
    return blocks


def _baseline_rows(raw_lines: list[dict]) -> list[list[dict]]:
    """Group the PDF's line pieces that share a baseline ("3.1" and "Valid and Reliable")."""
    rows: list[list[dict]] = []
    for raw in raw_lines:
        last = rows[-1][-1] if rows else None
        if last is not None and raw["dir"] == last["dir"] == (1.0, 0.0) and raw["bbox"][0] >= last["bbox"][2] - 1:
            overlap = min(raw["bbox"][3], last["bbox"][3]) - max(raw["bbox"][1], last["bbox"][1])
            if overlap > 0.5 * min(raw["bbox"][3] - raw["bbox"][1], last["bbox"][3] - last["bbox"][1]):
                rows[-1].append(raw)
                continue
        rows.append([raw])
    return rows


def _is_marker(span: dict, spans: list[dict]) -> bool:
    """A footnote marker: digits set as superscript, or raised and smaller than the text beside them."""
    text = span["text"].strip()
    if not text or not text.replace(",", "").isdigit():
        return False
    if span["flags"] & 1:
        return True
    others = [other for other in spans if other is not span and other["text"].strip()]
    if not others:
        return False
    neighbour = max(others, key=lambda other: len(other["text"]))
    return span["size"] < 0.8 * neighbour["size"] and span["bbox"][3] < neighbour["bbox"][3] - 1.5


def _read_line(row: list[dict]) -> Line | None:
    """A line's text and typography; footnote markers dropped (a leading one kept as `note`)."""
    every = [span for raw in row for span in raw["spans"]]
    visible_all = [span for span in every if span["text"].strip()]
    note = ""
    if visible_all and _is_marker(visible_all[0], every) and len(visible_all) > 1:
        note = visible_all[0]["text"].strip()
    spans = [span for span in every if not _is_marker(span, every)]
    visible = [span for span in spans if span["text"].strip()]
    if not visible:
        return None
    pieces: list[str] = []
    for previous, span in zip([None, *spans], spans, strict=False):
        if previous is not None and span["bbox"][0] - previous["bbox"][2] > 0.15 * span["size"]:
            pieces.append(" ")
        pieces.append(clean_text(span["text"]))
    text = " ".join("".join(pieces).split())
    last, dominant = visible[-1], max(visible, key=lambda span: len(span["text"].strip()))
    gap = last["bbox"][0] - visible[-2]["bbox"][2] if len(visible) > 1 else 0
    page_ref = bool((_PAGE_REF.match(last["text"].strip()) and gap > 2 * last["size"]) or _DOT_LEADER.search(text))
    return Line(
        text=text,
        size=round(dominant["size"], 1),
        bold=all(span["flags"] & 16 or _BOLD_FONT.search(span["font"]) for span in visible),
        bbox=union([raw["bbox"] for raw in row]),
        horizontal=row[0]["dir"][0] > 0.99,
        page_ref=page_ref,
        note=note,
    )


def _has_columns(blocks: list[Block]) -> bool:
    """Whether blocks sit side by side (columns, table cells): then the PDF's own order is kept."""
    boxes = [union([line.bbox for line in block.lines]) for block in blocks]
    if len(boxes) > 300:
        return True
    for index, (x0, y0, x1, y1) in enumerate(boxes):
        for a0, b0, a1, b1 in boxes[index + 1:]:
            overlap = min(y1, b1) - max(y0, b0)
            if overlap > 0.5 * min(y1 - y0, b1 - b0) and (a0 >= x1 or x0 >= a1):
                return True
    return False


def union(boxes: list) -> tuple[float, float, float, float]:
    """The smallest box around `boxes`."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def drop_running_lines(pages: list[Page]) -> None:
    """Remove running headers and footers, page numbers and short lines repeated on many pages."""
    in_margin: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for page in pages:
        in_margin.update({_margin_key(line.text) for block in page.blocks for line in block.lines
                          if _is_margin(line, block)})
        anywhere.update({line.text for block in page.blocks for line in block.lines})
    margin_min, anywhere_min = max(3, 0.25 * len(pages)), max(4, 0.1 * len(pages))

    def running(line: Line, block: Block) -> bool:
        if _is_margin(line, block) and (_PAGE_NUMBER.match(line.text)
                                        or in_margin[_margin_key(line.text)] >= margin_min):
            return True
        alone = len(block.lines) == 1  # a table header or "Continued on next page", not a paragraph's last line
        return alone and len(line.text.split()) <= 6 and anywhere[line.text] >= anywhere_min

    for page in pages:
        for block in page.blocks:
            block.lines = [line for line in block.lines if not running(line, block)]
        page.blocks = [block for block in page.blocks if block.lines]


def _is_margin(line: Line, block: Block) -> bool:
    """Whether a line sits in the top or bottom margin band of its page."""
    return line.bbox[3] <= MARGIN * block.height or line.bbox[1] >= (1 - MARGIN) * block.height


def _margin_key(text: str) -> str:
    """A header or footer line with its numbers masked, so "Page 3" and "Page 4" match."""
    return re.sub(r"\d+", "#", text.lower())


def body_size(lines: list[Line]) -> float:
    """The font size of most of the text."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0]


def split_footnotes(pages: list[Page], body: float) -> None:
    """Move each page's footnotes (small type at the foot, opening with a raised number) out of
    its blocks, so that they neither interrupt a paragraph running over the page nor enter it."""
    last_note, previous_note = 0, None
    for page in pages:
        flat = [(block, line) for block in page.blocks for line in block.lines]
        start = len(flat)
        for index in range(len(flat) - 1, -1, -1):
            line = flat[index][1]
            if line.size > body - 1.5 or not line.horizontal:
                break
            if line.note or (_FOOTNOTE_START.match(line.text) and line.size <= body - 2):
                start = index
        if start == len(flat):
            continue
        notes: list[list[Line]] = []
        for _, line in flat[start:]:
            opening = _FOOTNOTE_START.match(line.text)
            number = line.note or (opening.group(1) if opening else "")
            if number.isdigit() and (line.note or 0 < int(number) - last_note <= 3):
                last_note = int(number)
                notes.append([])
            elif not notes and previous_note is not None:
                previous_note.append(line)  # the end of a footnote begun on an earlier page
                continue
            elif not notes:
                notes.append([])
            notes[-1].append(line)
        page.footnote_lines = notes
        previous_note = notes[-1] if notes else previous_note
        kept = {id(line) for _, line in flat[:start]}
        for block in page.blocks:
            block.lines = [line for line in block.lines if id(line) in kept]
        page.blocks = [block for block in page.blocks if block.lines]
