"""Plain text: paragraphs split on blank lines, heading-like lines start sections, and a licence's
numbered clauses ("2. Additional Commercial Terms", "a.", "i.") become "Section 2", "Section 1(b)(i)".
The fallback parser."""

from __future__ import annotations

import codecs
import re

from ingest.parsers.clauses import ClauseTree, is_caption_only, is_numbered
from ingest.parsers.common import OutlineBuilder, clean_text, join_lines, numbering_depth, word_vocabulary
from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument, Section

NAME = "text"

SNIFF_BYTES = 65536
MAX_NONPRINTABLE = 0.05  # share of control characters above which bytes are not text
UNWRAPPED_LINE = 160  # lines this long are whole paragraphs (text that was never hard-wrapped)
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_LABELLED = re.compile(r"^(chapter|section|part|article|annex|appendix|title|schedule)\s+[\w.-]+\b", re.I)
_ROMAN = re.compile(r"^[IVXLC]{1,6}\.\s")
# Control characters other than line breaks, tabs and form feeds, and the replacement character.
_CONTROL_OR_REPLACEMENT = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffd]")
_LIST_ITEM = re.compile(r"^([-*•–]|\(?[a-z0-9]{1,3}[.)])\s", re.I)


def sniff(fetched: Fetched) -> bool:
    """Bytes without NUL that decode as UTF-8 or are mostly printable."""
    if fetched.content_type.startswith("text/plain"):
        return True
    sample = fetched.content[:SNIFF_BYTES]
    return bool(sample.strip()) and _decode(sample, strict_tail=False) is not None


def parse(fetched: Fetched) -> ParsedDocument:
    """Split plain text into paragraphs under heading-like lines."""
    text = _decode(fetched.content)
    if text is None:
        raise ParseError(f"{fetched.url}: the file does not look like text (binary or unknown encoding)")
    paragraphs = [lines for part in _BLANK_LINES.split(clean_text(text)) if part.strip()
                  for lines in _unwrapped(part.split("\n"))]
    if not paragraphs:
        raise ParseError(f"{fetched.url}: the text file is empty")
    vocabulary = word_vocabulary(line for lines in paragraphs for line in lines)
    outline = OutlineBuilder(intro_locator="Text")
    clauses = ClauseTree(outline.root) if is_numbered([line for lines in paragraphs for line in lines]) else None
    title = ""
    for index, lines in enumerate(paragraphs):
        is_last = index == len(paragraphs) - 1
        if clauses and _add_clause_text(clauses, lines, vocabulary):
            continue
        if not is_last and _is_heading(lines):
            heading = " ".join(lines[0].split())
            title = title or (heading if index == 0 else "")
            outline.heading(max(numbering_depth(heading), 1), heading)
        else:
            outline.block(join_lines(lines, vocabulary))
    return ParsedDocument(root=outline.root, title=title, parser=NAME)


def _add_clause_text(clauses: ClauseTree, lines: list[str], vocabulary: set[str]) -> bool:
    """Add a paragraph of the numbered part, or return False before the first clause. A line that
    continues the numbering opens a clause; other lines belong to the clause before them. A clause
    that is only a caption ("1. License Rights and Redistribution.") has a heading and no text."""
    pieces: list[tuple[Section, bool, list[str]]] = []  # clause, opened by this piece, lines
    for line in filter(str.strip, lines):
        if node := clauses.start(line):
            pieces.append((node, True, [line]))
        elif pieces:
            pieces[-1][2].append(line)
        elif current := clauses.current():
            pieces.append((current, False, [line]))
        else:
            return False
    for node, opened, piece in pieces:
        text = join_lines(piece, vocabulary)
        if not (opened and is_caption_only(text)):
            node.blocks.append(text)
    return True


def _decode(content: bytes, strict_tail: bool = True) -> str | None:
    """The bytes as text, or None when they look binary (NUL bytes, many control characters)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        content = content.decode("utf-16", errors="replace").encode("utf-8")
    if b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        if not strict_tail and error.start >= len(content) - 3:
            text = content[: error.start].decode("utf-8-sig")
        else:
            text = content.decode("cp1252", errors="replace")
    if not text:
        return text
    controls = len(_CONTROL_OR_REPLACEMENT.findall(text))  # a regex: a loop per character took 7 s on 20 MB
    return None if controls / len(text) > MAX_NONPRINTABLE else text


def _unwrapped(lines: list[str]) -> list[list[str]]:
    """Lines of a chunk as one paragraph, or one paragraph per line when the text was never wrapped."""
    lengths = sorted(len(line) for line in lines if line.strip())
    if len(lengths) > 1 and lengths[len(lengths) // 2] > UNWRAPPED_LINE:
        return [[line] for line in lines if line.strip()]
    return [lines]


def _is_heading(lines: list[str]) -> bool:
    """A one-line paragraph that reads like a heading: short, no final punctuation, numbered or capitalised."""
    if len(lines) != 1:
        return False
    line = " ".join(lines[0].split())
    words = line.split()
    if not 0 < len(words) <= 12 or len(line) > 100 or line.endswith((".", ",", ";", ":")):
        return False
    if (_LIST_ITEM.match(line) and not numbering_depth(line)) or "://" in line:
        return False
    letters = [char for char in line if char.isalpha()]
    if len(letters) < 2:
        return False
    if numbering_depth(line) or _LABELLED.match(line) or _ROMAN.match(line):
        return True
    return line.isupper() or (line[0].isupper() and len(words) <= 8)
