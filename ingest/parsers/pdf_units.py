"""Items to the tree of a document's numbered units, with locators as people cite them.

Sections ("Sec. 4.", "4.2", "Measure 1.3", "Appendix B", "GOVERN 1.1") are containers; numbered
paragraphs ("paragraph 17") and points ("Sec. 4.2(a)(i)", "Section 3(b)(ii)", "Recital (a)") are
units that become passages. A label is taken only where it continues a sequence the document has
open (or opens a new one at 1, a, i, A), so a cross-reference at the start of a line or an OCR
misreading never breaks the tree: such text stays in the unit before it. Unnumbered headings and
the text under them keep the "page N" nodes of a PDF without numbering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.parsers.common import join_lines
from ingest.parsers.pdf_blocks import Item
from ingest.parsers.pdf_numbering import (
    NAMED_RANK,
    SECTION_STYLES,
    Label,
    child_of,
    first_value,
    follows,
    read_labels,
)
from ingest.parsers.pdf_outline import add_footnotes, page_node, prune
from ingest.parsers.pdf_scheme import (
    RUN_IN_TITLE,
    numbered_section,
    paragraph_style,
    roman_heading,
    short_heading,
)
from kb.types import Section

MAX_PARAGRAPH_GAP = 4  # pages into an annex without a numbered paragraph after which the numbering is over
_FOLLOWING = re.compile(r"\bthe following ([A-Za-z]+s)\b")
_KINDS = {"Annex": "annex", "Appendix": "annex", "Part": "part", "Chapter": "chapter"}


@dataclass
class Frame:
    """An open node of the tree and the label that opened it."""

    node: Section
    label: Label | None = None
    section: bool = True  # a heading-level node (never one passage as a whole), not a paragraph or point
    size: float = 0.0  # type size of its heading; 0 for run-in headings and units


class UnitTree:
    """Builds the tree from items in reading order."""

    def __init__(self, items: list[Item]):
        run = paragraph_style(items)
        self.paragraphs: tuple[str, str] | None = run[0] if run else None
        self.paragraphs_from = run[1] if run else 0
        self.position = 0  # index of the item being read
        self.last_paragraph_page = 0
        self.root = Section(kind="document", container=True)
        self.stack: list[Frame] = [Frame(self.root)]
        self.last_paragraph = 0
        self.seen: set[str] = set()
        self.last_top: dict[tuple[str, str, str], str] = {}  # the last top-level section number by style
        words = [label.word for item in items for label in read_labels(item.text) if label.style == "section"]
        self.section_word = max(set(words), key=words.count) if words else "Section"

    def build(self, items: list[Item]) -> Section:
        """The tree of all items, footnotes last."""
        for self.position, item in enumerate(items):
            if item.kind == "heading" or (item.bold and numbered_section(item.text)) or roman_heading(item.text):
                self.heading(item)  # a numbered heading too long, or too plain, to be told by its type
            elif item.kind == "para":
                self.paragraph(item.text, item.page)
        add_footnotes(self.root, items)
        prune(self.root)
        return self.root

    # --- headings -------------------------------------------------------------------------------

    def heading(self, item: Item) -> None:
        """A heading in larger or bold type: a numbered section, or an unnumbered heading."""
        if any(label.style in ("lower", "upper", "roman") and self._continues_list(label)
               for label in read_labels(item.text)):
            self.paragraph(item.text, item.page)  # "I. Provide public notice." in bold, after "H."
            return
        self._pop_units()
        inner = self.stack[self._last_unnumbered()].label
        if inner is not None and inner.style in ("function", "action") and not read_labels(item.text):
            self._add_text(item.text, item.page)  # a caption in a table of subcategories
            return
        for label in read_labels(item.text):
            if label.style in SECTION_STYLES:
                if self._open_section(label, item.text, item.page, item.size, True):
                    return
            elif label.style != "number" and self._open_point(label, item.text, item.page, heading=item):
                return
        while len(self.stack) > 1 and self._closed_by(self.stack[-1], item.size):
            self.stack.pop()
        node = Section(kind="heading", heading=item.text, container=True, page=item.page)
        self._attach(Frame(node, size=item.size))

    @staticmethod
    def _closed_by(frame: Frame, size: float) -> bool:
        """Whether an unnumbered heading in type of `size` closes an open heading: one of its size
        or smaller when that is unnumbered too, a numbered one only when it is smaller."""
        if frame.label is None:
            return 0 < frame.size <= size + 0.25
        return 0 < frame.size < size - 0.25

    # --- paragraphs -----------------------------------------------------------------------------

    def paragraph(self, text: str, page: int) -> None:
        """A paragraph: it opens a numbered unit when its label continues a sequence, else it is
        text of the unit (or heading) open before it."""
        for label in read_labels(text):
            if label.style in SECTION_STYLES:
                if self._run_in_section(label, text, page):
                    return
            elif self.paragraphs == (label.style, label.form) and self.position >= self.paragraphs_from:
                if self._open_paragraph(label, text, page):
                    return
            elif self._open_point(label, text, page):
                return
        self._add_text(text, page)

    def _run_in_section(self, label: Label, text: str, page: int) -> bool:
        """A section whose heading runs into its text ("Sec. 5. Promoting Innovation. 5.1. ...")."""
        rest = text[label.end:]
        title = RUN_IN_TITLE.match(rest)
        is_title = title is not None and len(title.group(1).split()) <= 16
        short = len(rest.split()) <= 16 and not rest.rstrip().endswith((".", ";", ","))
        if not (is_title or short or label.style in ("function", "action")):
            return False
        if label.style == "named" and (label.word in ("Section", "Part", "Chapter")
                                       or not short or rest.rstrip().endswith(":")):
            return False  # "Section 4 of this memorandum, by:" is a reference, not a heading
        if label.style in ("function", "action"):
            heading, body = text.split(". ")[0] if label.style == "function" else "", text
        elif title is not None and is_title:
            heading, body = text[:label.end + title.end(1)], rest[title.end():]
        else:
            heading, body = text, ""
        if not self._open_section(label, heading or text, page, 0.0, False):
            return False
        if label.style in ("function", "action"):
            self.stack[-1].node.blocks.append(body)
        elif body.strip():
            self.paragraph(body.strip(), page)
        return True

    def _open_paragraph(self, label: Label, text: str, page: int) -> bool:
        """A numbered paragraph ("(17)"): numbered in one run through the whole document."""
        number = int(label.value)
        if not 0 < number - self.last_paragraph <= 3:
            return False
        in_annex = any(frame.label is not None and frame.label.word in ("Annex", "Appendix") for frame in self.stack)
        if in_annex and self.last_paragraph and page - self.last_paragraph_page > MAX_PARAGRAPH_GAP:
            return False  # pages into an annex: a list whose numbers happen to go on from the last paragraph
        self.last_paragraph, self.last_paragraph_page = number, page
        self._pop_units()
        node = Section(kind="paragraph", locator=f"paragraph {number}", anchor=f"page={page}",
                       blocks=[text], page=page)
        self._attach(Frame(node, label, section=False))
        return True

    def _open_point(self, label: Label, text: str, page: int, heading: Item | None = None) -> bool:
        """A lettered or numbered point: the next one of an open list, or the first of a new one.
        A point set as a heading ("a) Subliminal techniques") is a subsection."""
        sibling = None
        for index in range(len(self.stack) - 1, 0, -1):
            frame = self.stack[index]
            if frame.label is not None and _misread_first(frame.label, label):
                _reread(frame, Label("roman", "i", frame.label.end, frame.label.form))
            if frame.label is not None and frame.label.key == label.key and follows(label, frame.label.value):
                sibling = index
                break
            if frame.section:
                break
        top = self.stack[-1]
        expects_child = bool(top.node.blocks) and top.node.blocks[-1].rstrip().endswith(":")
        if sibling is not None and not (expects_child and first_value(label) and sibling == len(self.stack) - 1):
            del self.stack[sibling:]
        elif not first_value(label):
            return False
        parent = self.stack[-1]
        top_level = (label.style == "number" and label.form == "dot" and parent.node is self.root
                     and self.paragraphs != ("number", "dot"))  # a memo's "1. OVERVIEW"
        if not (parent.node.locator or top_level or heading is not None or _names_its_items(parent.node)):
            return False  # a list under an unnumbered heading stays text of that heading
        locator = self._point_locator(label, parent)
        if heading is not None:
            node = Section(kind="section", locator=locator, heading=text, anchor=f"page={page}",
                           container=True, page=page)
        elif top_level:
            node = Section(kind="section", locator=locator, heading=short_heading(text, label),
                           anchor=f"page={page}", blocks=[text], container=True, page=page)
        else:
            kind = "recital" if locator.startswith("Recital ") else "point"
            node = Section(kind=kind, locator=locator, anchor=f"page={page}", blocks=[text], page=page)
        section = top_level or heading is not None
        self._attach(Frame(node, label, section=section, size=heading.size if heading else 0.0))
        return True

    def _continues_list(self, label: Label) -> bool:
        """Whether `label` is the next point of a list open inside the current section."""
        for frame in reversed(self.stack[1:]):
            if frame.section:
                return False
            if frame.label is not None and frame.label.key == label.key and follows(label, frame.label.value):
                return True
        return False

    def _add_text(self, text: str, page: int) -> None:
        """Unlabelled text: into the open unit or numbered section, else into a page node."""
        node = self.stack[-1].node
        if node.locator and node.blocks == [node.locator]:
            node.blocks[-1] = f"{node.locator} {text}"  # a table row: "GV-1.2-001" | "Establish ..."
        elif node.locator and node.blocks and _runs_on(node.blocks[-1], text):
            node.blocks[-1] = join_lines([node.blocks[-1], text])  # a sentence carried over a page break
        elif node.locator:
            node.blocks.append(text)
        else:
            page_node(node, page).blocks.append(text)

    # --- sections -------------------------------------------------------------------------------

    def _open_section(self, label: Label, heading: str, page: int, size: float, is_heading: bool) -> bool:
        """Open a numbered section where its number puts it; False when it continues nothing."""
        key = f"{label.word} {label.value}"
        if key in self.seen:
            return False
        parent = self._section_parent(label, is_heading)
        if parent is None:
            return False
        self.seen.add(key)
        del self.stack[parent + 1:]
        parent_frame = self.stack[-1]
        locator = self._section_locator(label, parent_frame)
        kind = _KINDS.get(label.word, "point" if label.style == "action" else "section")
        node = Section(kind=kind, locator=locator, heading=heading, anchor=f"page={page}",
                       container=label.style != "action", page=page)
        self._attach(Frame(node, label, section=label.style != "action", size=size))
        return True

    def _section_parent(self, label: Label, is_heading: bool) -> int | None:
        """Index in the stack of the frame a section goes under, None when the label fits nowhere."""
        sections = [(index, frame.label) for index, frame in enumerate(self.stack)
                    if frame.section and frame.label is not None]
        if label.style == "function":
            for index, open_label in reversed(sections):
                if open_label.style == "function" and child_of(label.value, open_label.value):
                    return index
            functions = [index for index, open_label in sections if open_label.style == "function"]
            return self._last_unnumbered(below=functions[0] if functions else len(self.stack))
        if label.style in ("dotted", "named") and "." in label.value:
            for index, open_label in reversed(sections):
                value = open_label.value
                if open_label.style in ("function", "action"):
                    continue  # "5.3" is not a part of "MAP 5"
                if child_of(label.value, value) or (open_label.key == label.key and follows(label, value)):
                    return index if child_of(label.value, value) else index - 1
            if not is_heading:
                return None
            ancestors = [index for index, open_label in sections if open_label.style != "function"
                         and label.value.startswith(open_label.value + ".")]
            return ancestors[-1] if ancestors else self._last_unnumbered()  # "3.3.1" where "3.3" is missing
        if label.style == "action":
            parent = next((index for index, open_label in reversed(sections) if open_label.style == "function"
                           and label.value.split("-")[1] == open_label.value), None)
            return parent if parent is not None else self._last_unnumbered()
        if label.style == "named":
            rank = _rank(label)
            for index, open_label in reversed(sections):
                if open_label.style == "named" and _rank(open_label) < rank:
                    return index
            return 0 if is_heading or label.word in ("Annex", "Appendix", "Commitment", "Measure") else None
        # "Sec. 4." or a top-level "4." heading: under a higher named division, else at the top
        if label.style == "dotted" and not is_heading:
            return None  # "7. Be outcome-focused." in running text is a list item, not a chapter
        previous = self.last_top.get(label.key)
        if not (first_value(Label("number", label.value, 0)) if previous is None else follows(
                Label("number", label.value, 0), previous)):
            return None  # "8. Is there an alternative ...?" after section 6: a numbered question
        self.last_top[label.key] = label.value
        for index, open_label in reversed(sections):
            if open_label.style == "named" and _rank(open_label) < NAMED_RANK["Section"]:
                return index
        return 0

    def _last_unnumbered(self, below: int | None = None) -> int:
        """The innermost open section frame (numbered or not) below stack index `below`."""
        limit = len(self.stack) if below is None else below
        return max(index for index, frame in enumerate(self.stack[:limit]) if frame.section)

    def _section_locator(self, label: Label, parent: Frame) -> str:
        """How people cite a section: "Sec. 4.2", "Section 2.2", "Principle 1.3", "Measure 1.3", "GOVERN 1.1"."""
        if label.style == "action":
            return label.value
        if label.style in ("function", "named"):
            return f"{label.word} {label.value}".strip()
        if label.style == "section":
            return f"{self.section_word} {label.value}"
        chain = [frame.label for frame in self.stack if frame.label is not None]
        if any(frame.style == "section" for frame in chain):
            return f"{self.section_word} {label.value}"
        noun = _noun_for_children(parent)
        return f"{noun} {label.value}" if noun else f"Section {label.value}"

    def _point_locator(self, label: Label, parent: Frame) -> str:
        """A point's locator: its parent's with the point in brackets, "Sec. 4.2(a)(i)"."""
        if parent.node.locator:
            return f"{parent.node.locator}({label.value})"
        if _names_its_items(parent.node):  # "Recitals": "Recital (a)"; "References": "Reference 12"
            noun = parent.node.heading[:-1]
            return f"{noun} {label.value}" if label.style == "number" else f"{noun} ({label.value})"
        return f"Section {label.value}" if label.style == "number" else f"Point ({label.value})"

    # --- the stack --------------------------------------------------------------------------------

    def _pop_units(self) -> None:
        """Close open paragraphs and points."""
        while len(self.stack) > 1 and not self.stack[-1].section:
            self.stack.pop()

    def _attach(self, frame: Frame) -> None:
        self.stack[-1].node.children.append(frame.node)
        self.stack.append(frame)


def _rank(label: Label) -> int:
    """Rank of a named division; "Section II" (a roman numeral) ranks with parts, above "Section 2"."""
    if label.word == "Section" and label.value and label.value.strip("IVX") == "":
        return NAMED_RANK["Part"]
    return NAMED_RANK[label.word]


def _misread_first(opened: Label, label: Label) -> bool:
    """Whether an OCR'd "11." (ii.) shows that the "1." before it was a misread "i."."""
    return (label.ocr and label.style == "roman" and label.value == "ii" and opened.style == "number"
            and opened.value == "1" and opened.form == label.form)


def _reread(frame: Frame, label: Label) -> None:
    """Give an open point its right label, renaming it and everything under it."""
    old, new = frame.node.locator, frame.node.locator[:-len("(1)")] + f"({label.value})"
    for node in frame.node.walk():
        if node.locator.startswith(old):
            node.locator = new + node.locator[len(old):]
    frame.label = label


def _names_its_items(node: Section) -> bool:
    """Whether a heading is one plural word that names the items under it ("Recitals")."""
    return bool(re.fullmatch(r"[A-Z][a-z]+s", node.heading))


def _runs_on(block: str, text: str) -> bool:
    """Whether `text` carries on the unfinished sentence that ends `block`."""
    return text[:1].islower() and not block.rstrip().endswith((".", ":", ";", "!", "?"))


def _noun_for_children(parent: Frame) -> str:
    """The noun a division's own text gives its numbered parts ("the following Principles")."""
    if parent.label is None or parent.label.style != "named":
        return ""
    texts = parent.node.blocks + [block for child in parent.node.children if child.kind == "page"
                                  for block in child.blocks]
    nouns = [match.group(1) for text in texts for match in _FOLLOWING.finditer(text)]
    return nouns[-1][:-1].capitalize() if nouns else ""


def unit_tree(items: list[Item]) -> Section:
    """The document's tree along its own numbering."""
    return UnitTree(items).build(items)
