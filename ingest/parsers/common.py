"""Helpers shared by the format parsers: text clean-up, line joining, slugs, heading outlines."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set

from kb.types import Section

# Invisible characters that only get in the way of search: soft hyphen, zero-width space,
# word joiner, byte order mark. ZWJ/ZWNJ stay: they carry meaning in some scripts and emoji.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                                 "\u2008\u2009\u200a\u205f\u3000\t\v\f"), " ")
_LINE_BREAKS = dict.fromkeys(map(ord, "\u2028\u2029\u0085"), "\n")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_HYPHENATED_END = re.compile(r"([^\W\d_]+)-$")
_LEADING_WORD = re.compile(r"^([^\W\d_]+)")
_SECTION_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){0,5})(?:\.|\s|$)")
# Prefixes that usually keep their hyphen ("non-discrimination") when the document gives no clue.
_HYPHEN_PREFIXES = {"non", "self", "cross", "multi", "well", "socio", "third", "anti", "semi", "off", "co"}
TABLE_BLOCK_WORDS = 120  # rows of a table are grouped into blocks of about this many words


def clean_text(text: str) -> str:
    """Normalise odd spaces, invisible characters and control codes; keep typographic quotes."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_INVISIBLE).translate(_SPACES).translate(_LINE_BREAKS)
    return _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))


def collapse(text: str) -> str:
    """Clean `text` and squeeze all whitespace, newlines included, into single spaces."""
    return " ".join(clean_text(text).split())


def clean_lines(text: str) -> str:
    """Clean `text` keeping its line structure: each line squeezed, blank edges dropped."""
    lines = [" ".join(line.split()) for line in clean_text(text).split("\n")]
    return "\n".join(lines).strip("\n")


def word_vocabulary(texts) -> set[str]:
    """Lower-cased words (hyphenated compounds included) seen in `texts`; guides de-hyphenation."""
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary.update(word.lower() for word in _WORD.findall(text))
    return vocabulary


def join_lines(lines: list[str], vocabulary: Set[str] = frozenset()) -> str:
    """Join hard-wrapped lines into one paragraph, undoing end-of-line hyphenation."""
    parts: list[str] = []
    for line in (collapse(line) for line in lines):
        if not line:
            continue
        end = _HYPHENATED_END.search(parts[-1]) if parts else None
        start = _LEADING_WORD.match(line)
        if end and start and _drop_hyphen(end.group(1), start.group(1), vocabulary):
            parts[-1] = parts[-1][:-1] + line
        elif end and start:
            parts[-1] += line  # a real compound split at its hyphen ("non-" + "discrimination")
        else:
            parts.append(line)
    return " ".join(parts)


def _drop_hyphen(before: str, after: str, vocabulary: Set[str]) -> bool:
    """Whether "before-" at a line end + "after" is one word split by hyphenation."""
    joined, compound = (before + after).lower(), f"{before}-{after}".lower()
    if joined in vocabulary:
        return True
    if compound in vocabulary or before.lower() in _HYPHEN_PREFIXES:
        return False
    return after[:1].islower()


def numbering_depth(heading: str) -> int:
    """Depth of a leading section number: "3" -> 1, "3.1" -> 2, "1.2.4" -> 3, none -> 0."""
    match = _SECTION_NUMBER.match(heading)
    return match.group(1).count(".") + 1 if match else 0


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation and symbols dropped, spaces to '-'."""
    kept = [
        char for char in text.lower()
        if char in " -" or unicodedata.category(char)[0] in "LMN" or unicodedata.category(char) == "Pc"
    ]
    return "".join(kept).replace(" ", "-")


class SlugRegistry:
    """Hands out unique slugs the way GitHub does: repeats get -1, -2, ..."""

    def __init__(self, reserved=()) -> None:
        self._seen: dict[str, int] = dict.fromkeys(reserved, 0)

    def slug(self, text: str) -> str:
        """A unique GitHub-style slug for `text`."""
        base = github_slug(text)
        slug, count = base, self._seen.get(base, 0)
        while slug in self._seen:
            count += 1
            slug = f"{base}-{count}"
        self._seen[base] = count
        self._seen[slug] = self._seen.get(slug, 0)
        return slug


def table_blocks(header: list[str], rows: list[list[str]], max_words: int = TABLE_BLOCK_WORDS) -> list[str]:
    """Table rows as "cell | cell" lines, grouped into blocks that each repeat the header line."""
    head = " | ".join(header) if any(header) else ""
    blocks: list[str] = []
    current: list[str] = []
    words = 0
    for row in rows:
        line = " | ".join(row)
        if not line.replace("|", "").strip():
            continue
        if current and words + len(line.split()) > max_words:
            blocks.append("\n".join(([head] if head else []) + current))
            current, words = [], 0
        current.append(line)
        words += len(line.split())
    if current:
        blocks.append("\n".join(([head] if head else []) + current))
    elif head:
        blocks.append(head)
    return blocks


class OutlineBuilder:
    """Builds a heading tree from a stream of headings and blocks in document order."""

    def __init__(self, intro_locator: str, container_headings: bool = False) -> None:
        self.root = Section(kind="document", container=True)
        self._stack: list[tuple[int, Section]] = [(0, self.root)]
        self._intro_locator = intro_locator
        self._container_headings = container_headings

    def heading(self, level: int, text: str, anchor: str = "") -> None:
        """Open a heading node at `level` (1 = top), closing deeper or equal open headings."""
        while self._stack[-1][0] >= level:
            self._stack.pop()
        node = Section(kind="heading", locator=text, heading=text, anchor=anchor,
                       container=self._container_headings)
        self._stack[-1][1].children.append(node)
        self._stack.append((level, node))

    def block(self, text: str) -> None:
        """Add a paragraph to the open heading, or to the introduction when none is open."""
        if not text.strip():
            return
        node = self._stack[-1][1]
        if node is self.root:
            node = self._intro_node()
        node.blocks.append(text)

    def _intro_node(self) -> Section:
        """The node holding text before the first heading, created on first use."""
        first = self.root.children[0] if self.root.children else None
        if first is None or first.kind != "text":
            first = Section(kind="text", locator=self._intro_locator)
            self.root.children.insert(0, first)
        return first
