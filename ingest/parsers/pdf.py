"""PDF: headings found from the typography, paragraphs kept on their page so citations open it.

Tree: document > heading (by font size and weight, numbered headings nested by their numbers)
> one "page N" node per page the heading's text covers. Running headers, footers, page numbers
and tables of contents are left out; hard-wrapped and hyphenated lines are joined into paragraphs.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from ingest.parsers.common import clean_text, collapse, join_lines, numbering_depth, word_vocabulary
from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument, Section

NAME = "pdf"

MAX_PAGES = 2000  # longer files are refused rather than read for minutes
# Inflated drawing instructions of one page; real pages need well under 1 MB. A few hundred KB
# of compressed stream can inflate to gigabytes (a "PDF bomb"), which text extraction would hold.
MAX_PAGE_CONTENT = 64 * 1024 * 1024
MARGIN = 0.12  # share of the page height at top and bottom where running headers and footers sit
COVER_PAGES = 3  # the title page is looked for among the first pages
_TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures expanded, no images
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(\s*(of|/)\s*\d{1,4})?[-–—\s]*$",
                          re.I)
_PAGE_REF = re.compile(r"^(\d{1,4}|[ivxlc]{1,6})$", re.I)
_DOT_LEADER = re.compile(r"(\.\s?){4,}\s*(\d{1,4}|[ivxlc]{1,6})$", re.I)
_MARKUP = re.compile(rb"^(\xef\xbb\xbf)?\s*<(!doctype|html|\?xml|!--)", re.I)
_BULLET = re.compile(r"^[•▪●◦■□➢►✓]\s+")
_DASH = re.compile(r"^[‒–\-*]\s+")  # a list item only where the line hangs out to the left
_ENUMERATOR = re.compile(r"^\(?(\d{1,2}|[a-z]|[ivx]{1,4})[.)]\s", re.I)
_DIVISIONS = {"part": 0, "annex": 0, "appendix": 0, "schedule": 0, "title": 1, "chapter": 2, "section": 3}
_LABEL = re.compile(rf"^(?i:({'|'.join(_DIVISIONS)}))\s+(\d+|[IVXLC]+|[A-Z])\b")
_TERMINAL = (".", "!", "?", ":", ";", ".”", ".’", '."', ".)")
_BOLD_FONT = re.compile(r"bold|black|heavy", re.I)
_USELESS_TITLE = re.compile(r"^(untitled|document\d*|slide \d+)$|\.(docx?|pdf|indd|pptx?)$", re.I)


@dataclass
class Line:
    """One line of text with the typography that tells headings from body text."""

    text: str
    size: float
    bold: bool
    bbox: tuple[float, float, float, float]
    horizontal: bool
    page_ref: bool  # ends in a page number after a gap or dot leaders, as in a table of contents


@dataclass
class Block:
    """A block of lines as laid out on the page."""

    lines: list[Line]
    page: int
    height: float  # of the page


@dataclass
class Item:
    """A heading or a paragraph, in reading order."""

    kind: str  # "heading" or "para"
    text: str
    page: int
    size: float = 0.0
    bold: bool = False
    bottom: float = 0.0
    lines: list[Line] = field(default_factory=list)


def sniff(fetched: Fetched) -> bool:
    """PDF by the %PDF signature, or by media type unless the bytes are a web page (servers
    answer with an error or login page under the type of the document asked for)."""
    if fetched.content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF"):
        return True
    return fetched.content_type == "application/pdf" and not _MARKUP.match(fetched.content[:1024])


def parse(fetched: Fetched) -> ParsedDocument:
    """Headings and per-page paragraphs of a PDF with a text layer."""
    with _open(fetched) as document:
        meta_title = (document.metadata or {}).get("title", "")
        pages = _read_pages(document, fetched.url)
    _drop_running_lines(pages)
    lines = [line for page in pages for block in page for line in block.lines]
    if not lines:
        raise ParseError(f"{fetched.url}: the PDF has no text layer (scanned?); "
                         "run OCR on it first (e.g. with ocrmypdf) and add the result")
    body_size = _body_size(lines)
    vocabulary = word_vocabulary(line.text for line in lines)
    items = [item for page in pages for item in _page_items(page, body_size, vocabulary)]
    title = _meaningful_title(meta_title) or _largest_heading(items)
    items = _demote_cover_headings(items, title)
    return ParsedDocument(root=_build_tree(items), title=title, parser=NAME)


def _open(fetched: Fetched) -> pymupdf.Document:
    """Open the bytes as a PDF, or explain to a person why they cannot be read."""
    try:
        document = pymupdf.open(stream=fetched.content, filetype="pdf")
    except (RuntimeError, ValueError) as error:
        raise ParseError(f"{fetched.url}: not a readable PDF (corrupt or not a PDF at all: {error})") from error
    if document.needs_pass and not document.authenticate(""):
        document.close()
        raise ParseError(f"{fetched.url}: the PDF is encrypted; policy-kb cannot read password-protected files")
    if document.is_repaired and b"%%EOF" not in fetched.content[-2048:]:
        document.close()
        raise ParseError(f"{fetched.url}: the PDF is truncated (an incomplete download?); fetch it again")
    if document.page_count > MAX_PAGES:
        count = document.page_count
        document.close()
        raise ParseError(f"{fetched.url}: the PDF has {count} pages; policy-kb reads at most {MAX_PAGES}")
    return document


def _read_pages(document: pymupdf.Document, url: str) -> list[list[Block]]:
    """The text blocks of every page, in reading order."""
    pages = []
    try:
        for page in document:
            if _content_size(document, page, MAX_PAGE_CONTENT) > MAX_PAGE_CONTENT:
                raise ParseError(f"{url}: page {page.number + 1} inflates to more than "
                                 f"{MAX_PAGE_CONTENT // 2**20} MB of drawing instructions; refused")
            pages.append(_read_page(page))
    except (RuntimeError, ValueError) as error:
        raise ParseError(f"{url}: the PDF is damaged at page {len(pages) + 1} ({error})") from error
    return pages


def _content_size(document: pymupdf.Document, page: pymupdf.Page, limit: int) -> int:
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


def _read_line(row: list[dict]) -> Line | None:
    """A line's text and typography; footnote-marker superscripts dropped."""
    spans = [span for raw in row for span in raw["spans"]
             if not (span["flags"] & 1 and span["text"].strip().isdigit())]
    visible = [span for span in spans if span["text"].strip()]
    if not visible:
        return None
    pieces: list[str] = []
    for previous, span in zip([None, *spans], spans):
        if previous is not None and span["bbox"][0] - previous["bbox"][2] > 0.15 * span["size"]:
            pieces.append(" ")
        pieces.append(clean_text(span["text"]))
    text = " ".join("".join(pieces).split())
    last, dominant = visible[-1], max(visible, key=lambda span: len(span["text"].strip()))
    gap = last["bbox"][0] - visible[-2]["bbox"][2] if len(visible) > 1 else 0
    page_ref = bool(_PAGE_REF.match(last["text"].strip()) and gap > 2 * last["size"] or _DOT_LEADER.search(text))
    return Line(
        text=text,
        size=round(dominant["size"], 1),
        bold=all(span["flags"] & 16 or _BOLD_FONT.search(span["font"]) for span in visible),
        bbox=_union([raw["bbox"] for raw in row]),
        horizontal=row[0]["dir"][0] > 0.99,
        page_ref=page_ref,
    )


def _has_columns(blocks: list[Block]) -> bool:
    """Whether blocks sit side by side (columns, table cells): then the PDF's own order is kept."""
    boxes = [_union([line.bbox for line in block.lines]) for block in blocks]
    if len(boxes) > 300:
        return True
    for index, (x0, y0, x1, y1) in enumerate(boxes):
        for a0, b0, a1, b1 in boxes[index + 1:]:
            overlap = min(y1, b1) - max(y0, b0)
            if overlap > 0.5 * min(y1 - y0, b1 - b0) and (a0 >= x1 or x0 >= a1):
                return True
    return False


def _union(boxes: list) -> tuple[float, float, float, float]:
    """The smallest box around `boxes`."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _drop_running_lines(pages: list[list[Block]]) -> None:
    """Remove running headers and footers, page numbers and short lines repeated on many pages."""
    in_margin: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for page in pages:
        in_margin.update({_margin_key(line.text) for block in page for line in block.lines
                          if _is_margin(line, block)})
        anywhere.update({line.text for block in page for line in block.lines})
    margin_min, anywhere_min = max(3, 0.25 * len(pages)), max(4, 0.1 * len(pages))

    def running(line: Line, block: Block) -> bool:
        if _is_margin(line, block):
            if _PAGE_NUMBER.match(line.text) or in_margin[_margin_key(line.text)] >= margin_min:
                return True
        alone = len(block.lines) == 1  # a table header or "Continued on next page", not a paragraph's last line
        return alone and len(line.text.split()) <= 6 and anywhere[line.text] >= anywhere_min

    for page in pages:
        for block in page:
            block.lines = [line for line in block.lines if not running(line, block)]
        page[:] = [block for block in page if block.lines]


def _is_margin(line: Line, block: Block) -> bool:
    """Whether a line sits in the top or bottom margin band of its page."""
    return line.bbox[3] <= MARGIN * block.height or line.bbox[1] >= (1 - MARGIN) * block.height


def _margin_key(text: str) -> str:
    """A header or footer line with its numbers masked, so "Page 3" and "Page 4" match."""
    return re.sub(r"\d+", "#", text.lower())


def _body_size(lines: list[Line]) -> float:
    """The font size of most of the text."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size * 2) / 2] += len(line.text)
    return sizes.most_common(1)[0][0]


def _page_items(page: list[Block], body_size: float, vocabulary: set[str]) -> list[Item]:
    """Headings and paragraphs of one page; table-of-contents entries are left out."""
    is_contents = sum(line.page_ref for block in page for line in block.lines) >= 3
    items: list[Item] = []
    for block in page:
        if is_contents and any(line.page_ref for line in block.lines):
            continue
        if _is_heading(block, body_size):
            _add_heading(items, block)
        elif items and items[-1].kind == "para" and _continues(items[-1].lines[-1], block.lines[0]):
            items[-1].lines.extend(block.lines)
        else:
            items.append(Item("para", "", block.page, lines=list(block.lines)))
    return [item for group in items for item in _paragraphs(group, vocabulary)]


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
    text = " ".join(line.text for line in block.lines)
    size, top = max(line.size for line in block.lines), block.lines[0].bbox[1]
    bold = all(line.bold for line in block.lines)
    previous = items[-1] if items else None
    if (previous and previous.kind == "heading" and abs(previous.size - size) < 0.5 and previous.bold == bold
            and 0 <= top - previous.bottom < 0.6 * size and not numbering_depth(text) and not _LABEL.match(text)):
        previous.text, previous.bottom = f"{previous.text} {text}", block.lines[-1].bbox[3]
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
    """Split a text group at bullets and hanging list numbers, and join each part's lines."""
    if item.kind == "heading":
        return [item]
    groups: list[list[Line]] = []
    for line in item.lines:
        if not groups or _starts_item(line, groups[-1]):
            groups.append([])
        groups[-1].append(line)
    texts = [_DASH.sub("", _BULLET.sub("", join_lines([line.text for line in group], vocabulary)))
             for group in groups]
    return [Item("para", text, item.page) for text in texts if text.strip()]


def _starts_item(line: Line, group: list[Line]) -> bool:
    """Whether a line opens a list item: a bullet, or a number or dash that hangs out or lines up with the last."""
    if _BULLET.match(line.text):
        return True
    if not (_ENUMERATOR.match(line.text) or _DASH.match(line.text)):
        return False
    hangs = line.bbox[0] < group[-1].bbox[0] - 3
    opener = group[0]
    opens_list = bool(_ENUMERATOR.match(opener.text) or _DASH.match(opener.text))
    return hangs or (opens_list and abs(line.bbox[0] - opener.bbox[0]) < 6)


def _meaningful_title(title: str) -> str:
    """The metadata title unless it is empty, a file name or a placeholder."""
    title = collapse(re.sub(r"^microsoft (word|powerpoint) - ", "", title or "", flags=re.I))
    if len(title.split()) < 2 or _USELESS_TITLE.search(title):
        return ""
    return title


def _largest_heading(items: list[Item]) -> str:
    """The first heading in the largest type on the first pages."""
    early = [item for item in items if item.kind == "heading" and item.page <= COVER_PAGES]
    return max(early, key=lambda item: item.size).text if early else ""


def _demote_cover_headings(items: list[Item], title: str) -> list[Item]:
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
              and (item.size >= largest - 0.5 or _same_text(item.text, title))}
    result = []
    for item in items:
        if item.kind == "heading" and _same_text(item.text, title):
            continue  # the document's title, not a section of it
        result.append(Item("para", item.text, item.page) if item.kind == "heading" and item.page in covers else item)
    return result


def _same_text(a: str, b: str) -> bool:
    """Equal ignoring case and spacing."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _build_tree(items: list[Item]) -> Section:
    """Nest headings by type size, then by section number; paragraphs go into per-page nodes.

    A labelled division ("Part 2", "Section 1", "Appendix A") closes every open heading except
    a higher division ("Chapter III" stays open over "Section 1").
    """
    root = Section(kind="document", container=True)
    sizes = sorted({item.size for item in items if item.kind == "heading"}, reverse=True)
    stack: list[tuple[tuple[int, int], int, Section]] = [((-1, -1), -1, root)]
    for item in items:
        if item.kind != "heading":
            _page_node(stack[-1][2], item.page).blocks.append(item.text)
            continue
        rank = (sum(size > item.size + 0.5 for size in sizes), numbering_depth(item.text))
        label = _LABEL.match(item.text)
        order = _DIVISIONS[label.group(1).lower()] if label else len(_DIVISIONS)
        while len(stack) > 1 and (stack[-1][0] >= rank if not label else stack[-1][1] >= order):
            stack.pop()
        node = Section(kind="heading", heading=item.text, container=True, page=item.page)
        stack[-1][2].children.append(node)
        stack.append((rank, order, node))
    _prune(root)
    return root


def _page_node(parent: Section, page: int) -> Section:
    """The parent's node for `page`, created when the parent's text reaches a new page."""
    last = parent.children[-1] if parent.children else None
    if last is None or last.kind != "page" or last.page != page:
        last = Section(kind="page", locator=f"page {page}", anchor=f"page={page}", page=page)
        parent.children.append(last)
    return last


def _prune(node: Section) -> bool:
    """Drop headings with no text under them; True when `node` keeps some text."""
    node.children = [child for child in node.children if _prune(child)]
    return bool(node.blocks or node.children)
