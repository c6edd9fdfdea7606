"""Markdown (READMEs, docs): a heading tree with GitHub anchors, read from markdown-it's syntax tree.

A document without Markdown headings uses its bold lines as headings ("**Prohibited Uses**"), and
one cut into numbered clauses like a licence ("2. Additional Commercial Terms") is read the way the
plain-text parser reads licences: "Section 2", "Section 1(b)(i)".

A rulebook, whose numbered headings nest ("18.8 Client money" > "18.8.2"), is cited clause by clause:
"18.8", "18.8.2", each clause its own passage; a README's "## 1. Introduction" keeps its whole text.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from ingest.parsers import html
from ingest.parsers import text as plain_text
from ingest.parsers.clauses import is_numbered
from ingest.parsers.common import OutlineBuilder, SlugRegistry, clean_lines, collapse, table_blocks
from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument, Section

NAME = "markdown"

SHORT_LIST_WORDS = 60  # a list this short stays one block; longer lists give one block per item
LONG_ITEM_WORDS = 150  # an item with sub-items longer than this is split into one block per sub-item
_ATX_HEADING = re.compile(rb"^#{1,6}[ \t]+\S", re.M)
_HTML_START = re.compile(rb"^\s*<(!doctype|html|head|body)[\s>]", re.I)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(---|\.\.\.)[ \t]*(\n|\Z)", re.S)  # YAML metadata of docs sites
_ALERT = re.compile(r"^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.I)
BOLD_HEADING_WORDS = 8  # a bold line this short, in a document without headings, is a heading
# "1.", "18.8", "2.1.", "3.6A.3", "1.1.1.(1)" followed by a space or the end: a number with at least one dot,
# so that "## 2024 Releases" keeps its whole text as its locator.
_SECTION_NUMBER = re.compile(r"^\d+[A-Z]?\.(?:(?:\d+[A-Z]?|\(\w+\))\.?)*(?=\s|$)")
_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def sniff(fetched: Fetched) -> bool:
    """Markdown by media type, file name, or ATX headings in bytes that are not an HTML page."""
    if fetched.content_type in ("text/markdown", "text/x-markdown"):
        return True
    if PurePosixPath(fetched.filename.lower()).suffix in (".md", ".markdown"):
        return True
    head = fetched.content[:65536]
    return b"\x00" not in head and not _HTML_START.match(head) and bool(_ATX_HEADING.search(head))


def parse(fetched: Fetched) -> ParsedDocument:
    """Headings become nodes anchored like GitHub's; paragraphs, list items, rows and code become blocks."""
    if b"\x00" in fetched.content:
        raise ParseError(f"{fetched.url}: the file does not look like Markdown text (binary data)")
    try:
        text = fetched.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = fetched.content.decode("cp1252", errors="replace")
    text = _FRONT_MATTER.sub("", text, count=1)
    tree = SyntaxTreeNode(_PARSER.parse(text))
    has_headings = any(node.type == "heading" for node in tree.children)
    if not has_headings and is_numbered(text.splitlines()):
        licence = plain_text.parse(fetched)
        return ParsedDocument(root=licence.root, title=licence.title, parser=NAME)
    reader = _Reader(bold_headings=not has_headings)
    for node in tree.children:
        reader.read(node)
    read_numbered_clauses(reader.outline.root)
    return ParsedDocument(root=reader.outline.root, title=reader.title, parser=NAME)


class _Reader:
    """Walks top-level Markdown nodes into an outline."""

    def __init__(self, bold_headings: bool = False) -> None:
        self.outline = OutlineBuilder(intro_locator="Introduction")
        self.slugs = SlugRegistry()
        self.title = ""
        self.bold_headings = bold_headings
        self.started = False  # whether any node was read yet

    def read(self, node: SyntaxTreeNode) -> None:
        """Add one block-level node (and what it contains) to the outline."""
        first, self.started = not self.started, True
        if node.type == "heading":
            self.heading(int(node.tag[1]), inline_text(node.children[0]))
        elif node.type == "paragraph" and self.bold_headings and (bold := bold_heading(node.children[0])):
            # GitHub gives bold lines no anchor; the first one, opening the document, is its title.
            if first:
                self.title = bold
            self.outline.heading(1 if first else 2, bold)
        elif node.type == "paragraph":
            self.outline.block(inline_text(node.children[0]))
        elif node.type in ("bullet_list", "ordered_list"):
            for block in list_blocks(node):
                self.outline.block(block)
        elif node.type == "table":
            for block in markdown_table_blocks(node):
                self.outline.block(block)
        elif node.type in ("fence", "code_block"):
            self.outline.block(clean_lines(node.content))
        elif node.type == "html_block":
            self.html_block(node.content)
        elif node.type == "blockquote":
            for index, child in enumerate(node.children):
                if index == 0 and child.type == "paragraph":
                    self.outline.block(alert_text(inline_text(child.children[0])))
                else:
                    self.read(child)

    def heading(self, level: int, text: str, anchor: str = "") -> None:
        """Open a heading node; the first level-1 heading is the document title."""
        if not text:
            return
        if level == 1 and not self.title:
            self.title = text
        self.outline.heading(level, text, anchor or self.slugs.slug(text))

    def html_block(self, markup: str) -> None:
        """Embedded HTML: its text and headings, images and badges dropped, link text kept."""
        soup = html.soup_of(markup)
        root = soup.body or soup
        html.prepare(root)
        for event in html.html_events(root, lambda tag: str(tag.get("id") or "")):
            if event[0] == "heading":
                self.heading(event[1], event[2], event[3])
            else:
                self.outline.block(event[1])


def section_number(heading: str) -> str:
    """The dotted section number a heading opens with ("18.8" of "18.8 Client money"), else ""."""
    match = _SECTION_NUMBER.match(heading)
    return match[0] if match else ""


def continues_number(locator: str, parent: str) -> bool:
    """Whether a locator continues its parent's number: "18.8.2" after "18.8", "1.1" after "1.",
    "Part 2.4." after "Part 2", "3.2.Guidance" after "3.2" (not "10" after "1", nor "Install
    from pip" after "Install")."""
    if not any(char.isdigit() for char in parent) or locator == parent or not locator.startswith(parent):
        return False
    return parent[-1] in ".)" or locator[len(parent):].lstrip()[:1] in (".", "(")


def read_numbered_clauses(root: Section) -> None:
    """Cite a rulebook clause by clause: in a document whose numbered headings nest ("18.8" >
    "18.8.2"), each numbered heading is cited by its number ("18.8", not "18.8 Client money"); in
    any document, a heading whose sub-headings continue its number holds them as passages of their
    own instead of being one passage with them."""
    headings = [node for node in root.walk() if node.kind == "heading"]
    pairs = [(node, child) for node in headings for child in node.children if child.kind == "heading"]
    if any((number := section_number(node.heading))
           and continues_number(section_number(child.heading) or child.heading, number) for node, child in pairs):
        for node in headings:
            node.locator = section_number(node.heading) or node.locator
    for node, child in pairs:
        if continues_number(child.locator, node.locator):
            node.container = True


def inline_text(node: SyntaxTreeNode) -> str:
    """Plain text of inline content: markup, images and raw HTML tags dropped, link text kept."""
    return collapse(_inline_parts(node))


def bold_heading(node: SyntaxTreeNode) -> str:
    """The text of an inline node that is nothing but short bold text ("**Prohibited Uses**"), else ""."""
    parts = [child for child in node.children if not (child.type == "text" and not child.content.strip())]
    if not parts or any(child.type != "strong" for child in parts):
        return ""
    text = inline_text(node)
    return text if len(text.split()) <= BOLD_HEADING_WORDS and not text.endswith((".", ":", "!", "?")) else ""


def alert_text(text: str) -> str:
    """A GitHub alert ("[!NOTE] text") as plain "Note: text"."""
    match = _ALERT.match(text)
    return f"{match.group(1).capitalize()}: {text[match.end():]}" if match else text


def _inline_parts(node: SyntaxTreeNode) -> str:
    """Concatenated text of an inline node and its children."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    if node.type == "html_inline":
        return " " if node.content.lower().startswith("<br") else ""
    if node.type == "image":
        return ""
    return "".join(_inline_parts(child) for child in node.children)


def list_blocks(node: SyntaxTreeNode) -> list[str]:
    """A short list as one block of "- item" lines; otherwise one block per item."""
    items = [_item_lines(item, node) for item in node.children]
    lines = [line for item in items for line in item]
    if len(" ".join(lines).split()) <= SHORT_LIST_WORDS:
        return ["\n".join(lines)] if lines else []
    blocks = []
    for item in items:
        if item and item[0].startswith("- "):
            item = [item[0][2:], *item[1:]]
        text = "\n".join(item)
        if len(text.split()) > LONG_ITEM_WORDS and len(item) > 1:
            blocks.extend(item)
        elif text:
            blocks.append(text)
    return blocks


def _item_lines(item: SyntaxTreeNode, parent: SyntaxTreeNode, depth: int = 0) -> list[str]:
    """An item's text as its own line, then its sub-items' lines, indented by depth."""
    marker = f"{item.info}." if parent.type == "ordered_list" and item.info else "-"
    own: list[str] = []
    nested: list[str] = []
    for child in item.children:
        if child.type in ("bullet_list", "ordered_list"):
            for sub in child.children:
                nested.extend(_item_lines(sub, child, depth + 1))
        elif child.type == "paragraph":
            own.append(inline_text(child.children[0]))
        elif child.type in ("fence", "code_block"):
            own.append(collapse(child.content))
        elif child.type == "html_block":
            own.append(html.element_text(html.soup_of(child.content)))
    text = " ".join(part for part in own if part)
    indent = "  " * depth
    return ([f"{indent}{marker} {text}"] if text else []) + nested


def markdown_table_blocks(node: SyntaxTreeNode) -> list[str]:
    """A pipe table as "cell | cell" lines grouped into blocks under the header row."""
    header: list[str] = []
    rows: list[list[str]] = []
    for section in node.children:
        for row in section.children:
            cells = [inline_text(cell.children[0]) if cell.children else "" for cell in row.children]
            if section.type == "thead":
                header = cells
            else:
                rows.append(cells)
    return table_blocks(header, rows)
