"""Generic web pages: the main text of an HTML page as a heading tree of paragraphs."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator

from bs4 import (
    BeautifulSoup,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
    XMLParsedAsHTMLWarning,
)

from ingest.parsers.common import OutlineBuilder, SlugRegistry, clean_lines, collapse, table_blocks
from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument

NAME = "html"

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Page furniture and non-text elements, never part of the main text.
DROP = {"script", "style", "nav", "footer", "aside", "form", "noscript", "svg", "template", "iframe",
        "button", "select", "textarea", "img", "picture", "video", "audio", "canvas", "object", "embed",
        "map", "head", "title", "meta", "link", "math"}
INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q",
          "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr", "font", "del",
          "ins", "label", "tt", "big", "nobr", "acronym", "strike", "br"}
PARAGRAPHS = {"p", "dt", "dd", "figcaption", "caption", "address", "summary"}
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_HTML_START = re.compile(rb"^(\s|<!--.*?-->|<\?xml[^>]*\?>)*<(!doctype\s+html|html)[\s>]", re.I | re.S)

Event = tuple  # ("heading", level, text, anchor) or ("block", text)


def sniff(fetched: Fetched) -> bool:
    """HTML by media type, or bytes that open with a doctype or <html> tag."""
    if fetched.content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = fetched.content[:4096].lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head))


def parse(fetched: Fetched) -> ParsedDocument:
    """The page's main text as headings and paragraphs; page furniture dropped."""
    if b"\x00" in fetched.content[:65536]:
        raise ParseError(f"{fetched.url}: the file does not look like an HTML page (binary data)")
    soup = soup_of(fetched.content)
    title = collapse(soup.title.get_text()) if soup.title else ""
    main = main_element(soup)
    prepare(main)
    slugs = SlugRegistry(reserved=[tag["id"] for tag in main.find_all(id=True)])
    outline = OutlineBuilder(intro_locator="Introduction")
    for event in html_events(main, lambda heading: heading_anchor(heading, slugs)):
        if event[0] == "heading":
            outline.heading(event[1], event[2], event[3])
            title = title or (event[2] if event[1] == 1 else "")
        else:
            outline.block(event[1])
    if not any(node.blocks for node in outline.root.walk()):
        raise ParseError(f"{fetched.url}: the web page has no readable text")
    return ParsedDocument(root=outline.root, title=title, parser=NAME)


def soup_of(markup: bytes | str) -> BeautifulSoup:
    """A lenient parse of HTML or XHTML (lxml's HTML parser repairs broken markup)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)  # XHTML is read as HTML on purpose
        return BeautifulSoup(markup, "lxml")


def main_element(soup: BeautifulSoup) -> Tag:
    """<main>, a single <article>, [role=main], else <body>: where the page's own text lives."""
    for candidate in (soup.find("main"), soup.select_one('[role="main"]')):
        if candidate is not None:
            return candidate
    articles = soup.find_all("article")
    if len(articles) == 1:
        return articles[0]
    return soup.body or soup


def prepare(root: Tag) -> None:
    """Drop furniture and hidden elements, turn <br> into line breaks, keep headings of <header>."""
    for tag in root.find_all(list(DROP)):
        tag.decompose()
    for tag in root.select('[hidden], [aria-hidden="true"]'):
        tag.decompose()
    for header in root.find_all("header"):
        headings = header.find_all(HEADINGS)
        if headings:
            header.replace_with(*[heading.extract() for heading in headings])
        else:
            header.decompose()
    for br in root.find_all("br"):
        br.replace_with("\n")


def html_events(element: Tag, anchor_for: Callable[[Tag], str]) -> Iterator[Event]:
    """Headings and paragraphs of `element` in document order."""
    buffer: list[str] = []
    for child in element.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, _SKIPPED_STRINGS):
                buffer.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in INLINE:
            buffer.append(_raw_text(child))
            continue
        yield from _flush(buffer)
        if name in HEADINGS:
            text = element_text(child)
            if text:
                yield ("heading", int(name[1]), text, anchor_for(child))
        elif name == "pre":
            yield ("block", clean_lines(child.get_text()))
        elif name == "dl":
            yield from (("block", block) for block in _definition_blocks(child))
        elif name == "table" and not _is_layout_table(child):
            yield from (("block", block) for block in _table_blocks(child))
        elif name in PARAGRAPHS and not child.find(_block_level):
            yield ("block", element_text(child))
        else:
            yield from html_events(child, anchor_for)
    yield from _flush(buffer)


def _flush(buffer: list[str]) -> Iterator[Event]:
    """Loose inline text gathered so far, as one paragraph."""
    text = collapse("".join(buffer))
    buffer.clear()
    if text:
        yield ("block", text)


def _block_level(tag: Tag) -> bool:
    """Whether a tag starts its own paragraph."""
    return tag.name not in INLINE


def _definition_blocks(definitions: Tag) -> list[str]:
    """A definition list as "term: definition" paragraphs."""
    blocks, term = [], ""
    for child in definitions.find_all(["dt", "dd"]):
        if child.find_parent("dl") is not definitions:
            continue
        text = element_text(child)
        if child.name == "dt":
            if term:
                blocks.append(term)
            term = text
        else:
            blocks.append(f"{term}: {text}" if term else text)
            term = ""
    return blocks + ([term] if term else [])


def _is_layout_table(table: Tag) -> bool:
    """Tables used for page layout hold headings or other tables, not data rows."""
    return table.find(["table", *HEADINGS]) is not None


def _table_blocks(table: Tag) -> list[str]:
    """A data table as "cell | cell" lines, header repeated at the top of each block."""
    rows: list[tuple[bool, list[str]]] = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue
        cells = row.find_all(["th", "td"], recursive=False)
        texts = [element_text(cell) for cell in cells]
        if any(texts):
            rows.append((all(cell.name == "th" for cell in cells), texts))
    header = rows[0][1] if rows and rows[0][0] else []
    body = [texts for _, texts in (rows[1:] if header else rows)]
    caption = table.find("caption")
    caption_text = element_text(caption) if caption else ""
    return ([caption_text] if caption_text else []) + table_blocks(header, body)


def element_text(tag: Tag) -> str:
    """The text of an element, with a space wherever a block-level element starts."""
    return collapse(_raw_text(tag))


def _raw_text(tag: Tag) -> str:
    """The strings of an element joined as they are, a space where a block-level element starts."""
    parts = []
    for node in tag.descendants:
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIPPED_STRINGS):
                parts.append(str(node))
        elif isinstance(node, Tag) and node.name not in INLINE:
            parts.append(" ")
    return "".join(parts)


def heading_anchor(heading: Tag, slugs: SlugRegistry) -> str:
    """The heading's own id, an id inside it, its section's id, else a slug of its text."""
    if heading.get("id"):
        return str(heading["id"])
    inner = heading.find(lambda tag: tag.get("id") or (tag.name == "a" and tag.get("name")))
    if inner is not None:
        return str(inner.get("id") or inner["name"])
    section = heading.find_parent(lambda tag: tag.name in ("section", "article", "div") and tag.get("id"))
    if section is not None and section.find(HEADINGS) is heading:
        return str(section["id"])
    return slugs.slug(element_text(heading))
