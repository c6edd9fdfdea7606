"""EUR-Lex blocks to a tree of sections: preamble, recitals, chapters, articles, annexes.

`ActBuilder` reads the flat stream from `eurlex_html` in order and keeps track of where it is
(title, preamble, enacting terms, closing formula, annexes). Articles and annexes have their own
small builders because their numbering rules differ: "Article 5(1)(h)(i)" against
"Annex I, Section A, point 1" or "Annex VII, point 3.1".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.parsers.eurlex_html import Closing, Para, Row, Rule, row_paragraphs
from kb.types import Section

RECITAL_LABEL = re.compile(r"^\((\d+)\)$")
ARTICLE_HEADING = re.compile(r"^Article\s+(\d+\s?[a-z]*)$", re.IGNORECASE)
DIVISION_HEADING = re.compile(r"^(PART|TITLE|CHAPTER|SECTION|SUB-SECTION)\s+(\S+)\s*(.*)$", re.IGNORECASE)
ANNEX_HEADING = re.compile(r"^ANNEX(?:\s+([IVXLC]+|\d+|[A-Z]))?$", re.IGNORECASE)
ANNEX_SECTION = re.compile(r"^(Section|Part)\s+([A-Z]|\d+)\b\s*(?:[.:—–-]\s*)?(.*)$", re.IGNORECASE)
NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+\S")
PARAGRAPH_NUMBER = re.compile(r"^(\d+)([a-z]?)\.\s")
NOT_TITLE = {"(Text with EEA relevance)"}
START_STYLES = {"doc-ti", "ti-art", "ti-section-1"}

# kind, ELI subdivision code (the prefix of EUR-Lex element ids), rank in the hierarchy
DIVISIONS = {
    "part": ("part", "prt", 1),
    "title": ("title", "tis", 2),
    "chapter": ("chapter", "cpt", 3),
    "section": ("section", "sct", 4),
    "sub-section": ("section", "sbs", 5),
}
# Short words kept in lower case when an all-capitals title is rewritten; other short words
# ("AI", "EU") are taken for acronyms.
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to",
               "with", "its", "per", "not", "all", "any", "new", "use", "out", "off", "law"}

Locate = Callable[[str, str], str]


def readable_title(text: str) -> str:
    """Sentence case for the all-capitals titles of 2024 chapters, keeping acronyms like "AI"."""
    if not text.isupper():
        return text
    words = []
    for word in text.split(" "):
        core = word.strip("(),.;:‘’'")
        is_acronym = core.isalpha() and len(core) <= 3 and core.lower() not in SMALL_WORDS
        words.append(word if is_acronym else word.lower())
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:]


def bare_label(label: str) -> str:
    """The label without brackets or final dot: (a) -> a, 3.1. -> 3.1."""
    return label.strip("().")


def article_locator(label: str, parent_locator: str) -> str:
    """Points of articles nest in brackets: "Article 5(1)" + "(h)" -> "Article 5(1)(h)"."""
    return f"{parent_locator}({bare_label(label)})"


def paragraphs_of(block) -> list[str]:
    """The text of one block of a row's content."""
    if isinstance(block, Para):
        return [block.text]
    if isinstance(block, Row):
        return [para.text for para in row_paragraphs(block)]
    if isinstance(block, Closing):
        return list(block.texts)
    return []


def point(row: Row, parent_locator: str, anchor: str, locate: Locate) -> Section:
    """A point from a labelled row; rows inside it become its sub-points."""
    node = Section("point", locator=locate(row.label, parent_locator), anchor=anchor)
    for block in row.blocks:
        if isinstance(block, Row) and not block.is_list_mark:
            node.children.append(point(block, node.locator, anchor, locate))
        else:
            node.blocks.extend(paragraphs_of(block))
    if node.blocks:
        node.blocks[0] = f"{row.label} {node.blocks[0]}"
    else:
        node.blocks = [row.label]
    return node


class ArticleBuilder:
    """Collects an article's numbered paragraphs, points and unnumbered text."""

    def __init__(self, node: Section):
        self.node = node
        self.paragraph: Section | None = None
        self.last_number = 0

    def add_text(self, text: str) -> None:
        """A paragraph of text: opens the next numbered paragraph, or belongs to the current one."""
        match = PARAGRAPH_NUMBER.match(text)
        if match and self._is_next(int(match.group(1)), match.group(2)):
            number = match.group(1) + match.group(2)
            self.last_number = int(match.group(1))
            self.paragraph = Section("paragraph", locator=f"{self.node.locator}({number})",
                                     anchor=self.node.anchor, blocks=[text])
            self.node.children.append(self.paragraph)
        else:
            self._target().blocks.append(text)

    def add_row(self, row: Row) -> None:
        """A labelled row: a point of the current paragraph (or of the article), or a dashed item."""
        target = self._target()
        if row.is_list_mark:
            target.blocks.extend(paragraphs_of(row))
        else:
            target.children.append(point(row, target.locator, self.node.anchor, article_locator))

    def _is_next(self, number: int, suffix: str) -> bool:
        """Paragraph numbers run 1, 2, 3 (or 2a after 2); anything else is plain text."""
        return number == self.last_number + 1 if not suffix else number == self.last_number

    def _target(self) -> Section:
        return self.paragraph or self.node


class AnnexBuilder:
    """Collects an annex's intro text, sections and points ("Annex I, Section A, point 1")."""

    def __init__(self, node: Section):
        self.node = node
        self.container = node  # the annex or its current section
        self.heading_point: Section | None = None  # a numbered heading such as "3. Quality ..."
        self.heading_number = ""
        self.untitled_section: Section | None = None
        self.has_title = False

    def set_title(self, text: str) -> None:
        """The annex title line that follows "ANNEX III"."""
        self.node.heading = f"{self.node.heading} {text}"
        self.has_title = True

    def add_heading(self, text: str) -> None:
        """A group heading: a section ("Section A ...", "Part B"), a numbered heading, or text."""
        section = ANNEX_SECTION.match(text)
        numbered = NUMBERED_HEADING.match(text)
        if section:
            self._open_section(f"{section.group(1).title()} {section.group(2)}", section.group(3))
        elif self.untitled_section is not None:
            self.untitled_section.heading += f" {text}"
            self.untitled_section = None
        elif numbered:
            self.heading_number = numbered.group(1)
            self.heading_point = Section("point", locator=f"{self._prefix()}, point {self.heading_number}",
                                         anchor=self.node.anchor, blocks=[text])
            self.container.children.append(self.heading_point)
        else:
            self.add_text(text)

    def add_text(self, text: str) -> None:
        """Text goes to the point it follows, or to the annex (section) intro."""
        self.untitled_section = None
        self._text_target().blocks.append(text)

    def add_row(self, row: Row) -> None:
        """A labelled row: a point of the annex, its section or its numbered heading."""
        if row.is_list_mark:
            for text in paragraphs_of(row):
                self.add_text(text)
            return
        parent = self._row_parent(row.label)
        parent_locator = parent.locator if parent.kind == "point" else self._prefix()
        parent.children.append(point(row, parent_locator, self.node.anchor, self._locate))

    def _open_section(self, label: str, title: str) -> None:
        section = Section("section", locator=f"{self.node.locator}, {label}",
                          heading=f"{label} {title}".strip(), container=True)
        self.node.children.append(section)
        self.container = section
        self.heading_point = None
        self.untitled_section = None if title else section

    def _row_parent(self, label: str) -> Section:
        """Sub-points "(a)" and "3.1" belong to the numbered heading "3."; "4." ends it."""
        if self.heading_point is not None:
            if label.startswith("(") or bare_label(label).startswith(self.heading_number + "."):
                return self.heading_point
            self.heading_point = None
        return self.container

    def _text_target(self) -> Section:
        if self.heading_point is not None:
            children = self.heading_point.children
            return children[-1] if children else self.heading_point
        children = self.container.children
        return children[-1] if children and children[-1].kind == "point" else self.container

    def _prefix(self) -> str:
        return self.container.locator

    def _locate(self, label: str, parent_locator: str) -> str:
        """Letters nest under their point ("point 1(a)"); numbers are absolute ("point 3.1")."""
        nested = label.startswith("(") or not bare_label(label)[:1].isdigit()
        if nested and parent_locator != self._prefix():
            return f"{parent_locator}({bare_label(label)})"
        shown = label if label.startswith("(") else bare_label(label)
        return f"{self._prefix()}, point {shown}"


class ActBuilder:
    """Reads the block stream of one act, in order, into a `Section` tree."""

    def __init__(self) -> None:
        self.root = Section("document", container=True)
        self.title_parts: list[str] = []
        self.stage = "waiting"  # waiting, title, preamble, body, closing, annex
        self.preamble: Section | None = None
        self.divisions: list[tuple[int, Section]] = []  # open parts, chapters, sections
        self.untitled_division: Section | None = None
        self.article: ArticleBuilder | None = None
        self.annex: AnnexBuilder | None = None
        self.closing: Section | None = None
        self.ended = False  # the closing formula or the end-of-document rule was seen
        self.skipping = False  # after a separator rule, until the next heading

    @property
    def title(self) -> str:
        """The act's title as printed at its top."""
        return " ".join(self.title_parts)

    def feed(self, block) -> bool:
        """Take the next block; False once the act has ended and the rest can be ignored."""
        if isinstance(block, Rule):
            return self._rule(block)
        if self.stage == "waiting":
            if not (isinstance(block, Para) and block.style in START_STYLES):
                return True
            self.stage = "title"
        if isinstance(block, Closing):
            self._closing(block)
        elif isinstance(block, Row):
            self._row(block)
        else:
            self._para(block)
        return True

    def _rule(self, rule: Rule) -> bool:
        if self.stage == "waiting":
            return True
        if rule.style == "doc-end":
            self.ended = True
            return False
        # the 2024 page prints its ELI and ISSN after a separator: not part of the last annex
        self.skipping = self.skipping or rule.style == "separator"
        return True

    def _para(self, para: Para) -> None:
        handlers = {
            "doc-ti": self._document_title,
            "ti-section-1": self._division,
            "ti-section-2": self._division_title,
            "ti-art": self._article,
            "sti-art": self._article_title,
            "ti-grseq-1": self._group_heading,
        }
        if para.style in handlers:
            self.skipping = False
        handlers.get(para.style, self._text)(para.text)

    def _document_title(self, text: str) -> None:
        if heading := ANNEX_HEADING.match(text):
            self._annex(heading.group(1))
        elif self.stage == "title":
            if text not in NOT_TITLE:
                self.title_parts.append(text)
        elif self.annex is not None and not self.annex.has_title:
            self.annex.set_title(text)
        else:
            self._text(text)

    def _text(self, text: str) -> None:
        if self.skipping:
            return
        if self.stage in ("title", "preamble"):
            self.stage = "preamble"
            self._preamble().blocks.append(text)
        elif self.annex is not None:
            self.annex.add_text(text)
        elif self.article is not None:
            self.article.add_text(text)
        elif self.closing is not None:
            self.closing.blocks.append(text)
        else:
            self._container().blocks.append(text)

    def _row(self, row: Row) -> None:
        if self.skipping:
            return
        recital = RECITAL_LABEL.match(row.label)
        if self.stage in ("title", "preamble") and recital:
            self.stage = "preamble"
            self._recital(recital.group(1), row)
        elif self.stage in ("title", "preamble") or (self.annex is None and self.article is None):
            for text in paragraphs_of(row):
                self._text(text)
        elif self.annex is not None:
            self.annex.add_row(row)
        elif self.article is not None:  # always, when there is no annex (the branch above)
            self.article.add_row(row)

    def _recital(self, number: str, row: Row) -> None:
        texts = [text for block in row.blocks for text in paragraphs_of(block)]
        self.root.children.append(Section("recital", locator=f"Recital {number}", heading=f"Recital {number}",
                                          anchor=f"rct_{number}", blocks=texts))

    def _preamble(self) -> Section:
        if self.preamble is None:
            self.preamble = Section("preamble", locator="Preamble", heading="Preamble", anchor="pbl_1")
            self.root.children.append(self.preamble)
        return self.preamble

    def _division(self, text: str) -> None:
        """"CHAPTER II", "SECTION 1", "TITLE III", "PART ONE": a container for what follows."""
        match = DIVISION_HEADING.match(text)
        if match is None or self.annex is not None:
            self._text(text)
            return
        kind, code, rank = DIVISIONS[match.group(1).lower()]
        number, rest = match.group(2), match.group(3)
        while self.divisions and self.divisions[-1][0] >= rank:
            self.divisions.pop()
        parent = self._container()
        prefix = f"{parent.anchor}." if self.divisions else ""
        heading = f"{match.group(1).title()} {number} {readable_title(rest)}".strip()
        node = Section(kind, heading=heading, anchor=f"{prefix}{code}_{number}", container=True)
        parent.children.append(node)
        self.divisions.append((rank, node))
        self.untitled_division = node
        self.stage, self.article = "body", None

    def _division_title(self, text: str) -> None:
        if self.untitled_division is None:
            self._text(text)
            return
        self.untitled_division.heading += f" {readable_title(text)}"
        self.untitled_division = None

    def _article(self, text: str) -> None:
        match = ARTICLE_HEADING.match(text)
        if match is None or self.annex is not None:
            self._text(text)
            return
        number = match.group(1).replace(" ", "")
        node = Section("article", locator=f"Article {number}", heading=f"Article {number}",
                       anchor=f"art_{number}")
        self._container().children.append(node)
        self.article = ArticleBuilder(node)
        self.stage, self.untitled_division = "body", None

    def _article_title(self, text: str) -> None:
        article = self.article.node if self.article is not None else None
        if article is None or article.heading != article.locator:
            self._text(text)
            return
        article.heading += f" {text.rstrip('`').strip()}"  # the 2024 page has "Subject matter`"

    def _group_heading(self, text: str) -> None:
        if self.annex is not None:
            self.annex.add_heading(text)
        else:
            self._text(text)

    def _closing(self, closing: Closing) -> None:
        self.closing = Section("text", locator="Closing formula", heading="Closing formula",
                               anchor="fnp_1", blocks=list(closing.texts))
        self.root.children.append(self.closing)
        self.article, self.divisions, self.ended = None, [], True
        self.stage = "closing"

    def _annex(self, number: str | None) -> None:
        label = f"Annex {number.upper()}" if number else "Annex"
        node = Section("annex", locator=label, heading=label, anchor=f"anx_{number.upper()}" if number else "")
        self.root.children.append(node)
        self.annex = AnnexBuilder(node)
        self.article, self.divisions, self.stage = None, [], "annex"

    def _container(self) -> Section:
        return self.divisions[-1][1] if self.divisions else self.root
