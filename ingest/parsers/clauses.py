"""Numbered clauses of licences and terms: "2. Additional Commercial Terms", then "a." and "i."
below it, cited as "Section 2", "Section 1(b)(i)".

Shared by the plain-text and Markdown parsers. A label counts only where it continues the
numbering ("b." after "a.", "i." under a letter, "3." after "2."), so a stray "5." in a sentence
or a list of other things does not open a clause.
"""

from __future__ import annotations

import re

from kb.types import Section

# "1. ", "b. ", "iv. " at the start of a line; letters and roman numerals in lower case, as licences write them.
LABEL = re.compile(r"^\s*(\d{1,2}|[a-z]|[ivx]{1,5})\.\s+(?=\S)")
_TOP_LABEL = re.compile(r"^\s*(\d{1,2})\.\s+[A-Z]")
_DOTTED_HEADING = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.?\s+[A-Z]")  # "2.1 Scope": a report's headings, not clauses
# A clause caption: a few title-case words closed by a full stop ("Grant of Rights. You are ...").
_CAPTION = re.compile(r"^([A-Z][\w’'&/-]*(?:\s+[\w’'&/-]+){0,7})\.(?=\s|$)")
_MINOR_WORDS = {"of", "and", "the", "for", "to", "in", "on", "or", "a", "an", "by", "with", "under"}
_ROMAN = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv"]
LEVELS = 3  # 1. / a. / i.


def is_numbered(lines: list[str]) -> bool:
    """Whether a text is cut into numbered clauses: lines open with "1." and then "2.", and no
    "2.1"-style headings (a report numbered that way keeps its headings)."""
    tops = [int(match[1]) for line in lines if (match := _TOP_LABEL.match(line))]
    return tops[:2] == [1, 2] and not any(_DOTTED_HEADING.match(line) for line in lines)


def caption(text: str) -> str:
    """The clause's title when it starts with one ("Additional Commercial Terms"), else ""."""
    match = _CAPTION.match(text)
    if not match:
        return ""
    words = match[1].split()
    if all(word[0].isupper() or word in _MINOR_WORDS for word in words):
        return match[1]
    return ""


def is_caption_only(text: str) -> bool:
    """A clause's text that is nothing but its label and caption: "5. Intellectual Property."."""
    rest = LABEL.sub("", text, count=1).strip()
    title = caption(rest)
    return bool(title) and rest == f"{title}."


class ClauseTree:
    """Builds the clause sections as labels arrive in document order."""

    def __init__(self, root: Section) -> None:
        self.root = root
        self.path: list[str] = []  # labels of the open clauses: ["1", "b", "i"]
        self.open: list[Section] = []

    def start(self, line: str) -> Section | None:
        """Open the clause a line starts; None when the line does not continue the numbering."""
        match = LABEL.match(line)
        if not match:
            return None
        depth = self._depth_of(match[1])
        if depth is None:
            return None
        self.path = self.path[:depth - 1] + [match[1]]
        rest = line[match.end():].strip()
        title = caption(rest)
        heading = f"{match[1]}. {title}" if title else (self.locator() if depth == 1 else "")
        node = Section(kind="section" if depth == 1 else "point", locator=self.locator(), heading=heading)
        (self.open[depth - 2].children if depth > 1 else self.root.children).append(node)
        self.open = self.open[:depth - 1] + [node]
        return node

    def current(self) -> Section | None:
        """The innermost open clause, where continuation text belongs."""
        return self.open[-1] if self.open else None

    def locator(self) -> str:
        """The open clause as people cite it: "Section 1(b)(i)"."""
        return f"Section {self.path[0]}" + "".join(f"({label})" for label in self.path[1:])

    def _depth_of(self, label: str) -> int | None:
        """The level (1-3) at which `label` continues the numbering: the next sibling of the
        innermost clause, its first child, or the next sibling of an enclosing clause."""
        depth = len(self.path)
        if depth and label == _next(self.path[-1], depth):
            return depth
        if depth < LEVELS and label == _first(depth + 1):
            return depth + 1
        for level in range(depth - 1, 0, -1):
            if label == _next(self.path[level - 1], level):
                return level
        return None


def _first(level: int) -> str:
    return {1: "1", 2: "a", 3: "i"}[level]


def _next(label: str, level: int) -> str:
    if level == 1:
        return str(int(label) + 1) if label.isdigit() else ""
    if level == 2:
        return chr(ord(label) + 1) if len(label) == 1 and label < "z" else ""
    index = _ROMAN.index(label) if label in _ROMAN else len(_ROMAN) - 1
    return _ROMAN[index + 1] if index + 1 < len(_ROMAN) else ""
