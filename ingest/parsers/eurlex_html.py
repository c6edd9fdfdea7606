"""EUR-Lex HTML to a flat stream of blocks, the same for both Official Journal markups.

The 2024 markup (`oj-` classes, nested `div.eli-subdivision`) and the 2016 markup (plain classes,
a flat list of paragraphs) differ mostly in nesting, so this module flattens the page into
`Para`, `Row`, `Rule` and `Closing` blocks in reading order, with class names stripped of their
`oj-` prefix. `eurlex_tree` turns that stream into sections.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning

from ingest.parsers.common import collapse

# A note call ("(15)" linking to a footnote) is replaced by this private-use character so that the
# space before it can be dropped with it: "Committee (1)," becomes "Committee,".
NOTE_CALL = "\ue000"
NOTE_CALL_WITH_SPACE = re.compile(r"\s*" + NOTE_CALL)

# "(a)", "(iv)", "(12)", "1.", "3.1.", "a)"; dashes and bullets are list marks, not citable labels.
POINT_LABEL = re.compile(r"^(?:\(\w{1,6}\)|\d+(?:\.\d+)*\.?|[a-z]\))$")
LIST_MARKS = {"—", "–", "-", "•", "·"}

INLINE_TAGS = {"span", "a", "i", "b", "em", "strong", "sup", "sub", "br", "u", "abbr", "q",
               "small", "font", "ins", "del", "cite", "code"}
SKIPPED_TAGS = {"script", "style", "nav", "noscript", "head", "button", "colgroup", "col", "img",
                "title", "meta", "link", "form", "input", "select"}
NOTE_STYLES = {"note"}


@dataclass
class Para:
    """A paragraph of text and its EUR-Lex class without the `oj-` prefix ("normal", "ti-art")."""

    style: str
    text: str


@dataclass
class Row:
    """A labelled table row: a point "(a)", a recital "(12)", or a dashed list item "—"."""

    label: str
    blocks: list = field(default_factory=list)

    @property
    def is_list_mark(self) -> bool:
        """True for a dash or bullet item, which is text rather than a citable point."""
        return self.label in LIST_MARKS


@dataclass
class Rule:
    """A horizontal rule; its style tells where the act ends ("doc-end", "separator")."""

    style: str


@dataclass
class Closing:
    """The closing formula and signatures ("Done at Brussels, ...")."""

    texts: list[str]


def read_soup(html: str) -> BeautifulSoup:
    """Parse the page with lxml; drop footnote calls, turn <br> into spaces, mark superscripts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    for br in soup.find_all("br"):
        br.replace_with(" ")
    for call in soup.select('a[href^="#ntr"]'):
        call.replace_with(NOTE_CALL)
    for sup in soup.select("span.oj-super, span.super, sup"):
        sup.insert_before("^")  # so that "10^25" does not read as 1025
    return soup


def clean(text: str) -> str:
    """One line of text: note calls dropped, NBSP and other odd spaces normalised, squeezed."""
    return collapse(NOTE_CALL_WITH_SPACE.sub("", text))


def style_of(tag: Tag) -> str:
    """The tag's first class without the `oj-` prefix, "" when it has none."""
    classes = tag.get_attribute_list("class")
    return classes[0].removeprefix("oj-") if classes else ""


def blocks(nodes: Iterable) -> list:
    """The blocks of a sequence of sibling nodes, in reading order."""
    found: list = []
    inline: list[str] = []
    for node in nodes:
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:  # not a comment, CDATA or doctype
                inline.append(str(node))
        elif isinstance(node, Tag) and node.name not in SKIPPED_TAGS:
            if node.name in INLINE_TAGS:
                inline.append(node.get_text())
            else:
                _flush(inline, found)
                found.extend(_block(node))
    _flush(inline, found)
    return found


def _flush(inline: list[str], found: list) -> None:
    """Loose inline text gathered so far, as one paragraph; a lone ";" joins the text before it."""
    text = clean("".join(inline))
    inline.clear()
    if text and text[0] in ",;:.)" and found and isinstance(found[-1], Para):
        found[-1] = Para(found[-1].style, found[-1].text + text)
    elif text:
        found.append(Para("normal", text))


def _block(tag: Tag) -> Iterator:
    """The blocks of one block-level element."""
    style = style_of(tag)
    if tag.name == "p":
        if style not in NOTE_STYLES:
            text = clean(tag.get_text())
            if text:
                yield Para(style, text)
    elif tag.name == "table":
        yield from _table(tag)
    elif tag.name == "hr":
        yield Rule(style)
    elif tag.name == "div" and style == "final":
        yield Closing([block.text for block in blocks(tag.children) if isinstance(block, Para)])
    elif tag.name == "div" and style == "enumeration-spacing":
        yield from _enumeration(tag)
    else:
        yield from blocks(tag.children)


def _table(table: Tag) -> Iterator:
    """Rows of a table: labelled rows become `Row`, other rows become text."""
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a row of a nested table, read with its own cell
        cells = [cell for cell in tr.find_all(["td", "th"], recursive=False)
                 if cell.get_text(strip=True) or cell.find("table")]
        yield from _row(cells)


def _row(cells: list[Tag]) -> Iterator:
    """One table row: a point or recital when its first cell is a label, else plain text."""
    if not cells:
        return
    label = clean(cells[0].get_text())
    is_label = POINT_LABEL.match(label) or label in LIST_MARKS
    if len(cells) >= 2 and is_label and not cells[0].find("table"):
        content = [block for cell in cells[1:] for block in blocks(cell.children)]
        yield Row(label, content)
    elif len(cells) == 1:
        yield from blocks(cells[0].children)
    else:  # a data table: keep each row as one line so that no text is lost
        texts = [" ".join(b.text for b in _texts(blocks(cell.children))) for cell in cells]
        yield Para("table", " | ".join(texts))


def _enumeration(div: Tag) -> Iterator:
    """An `oj-enumeration-spacing` item (2024 annexes): a label paragraph, then its text."""
    children = [child for child in div.children if isinstance(child, Tag)]
    label = clean(children[0].get_text()) if children else ""
    if children and POINT_LABEL.match(label):
        yield Row(label, list(blocks(children[1:])))
    else:
        yield from blocks(div.children)


def _texts(items: Iterable) -> Iterator[Para]:
    """Paragraphs of a block stream, with rows flattened to "label text"."""
    for item in items:
        if isinstance(item, Para):
            yield item
        elif isinstance(item, Row):
            yield from row_paragraphs(item)


def row_paragraphs(row: Row) -> list[Para]:
    """A row as plain paragraphs, its label in front of its first text."""
    paragraphs = list(_texts(row.blocks))
    if not paragraphs:
        return [Para("normal", row.label)]
    first = paragraphs[0]
    return [Para(first.style, f"{row.label} {first.text}")] + paragraphs[1:]
