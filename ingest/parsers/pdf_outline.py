"""Items to a tree when a PDF has no numbering of its own: headings, and "page N" nodes under them.

Also the footnotes node that both this tree and the numbered one end with.
"""

from __future__ import annotations

from ingest.parsers.common import numbering_depth
from ingest.parsers.pdf_blocks import Item, division_rank
from kb.types import Section

_NOT_A_DIVISION = 99


def heading_tree(items: list[Item]) -> Section:
    """Nest headings by type size, then by section number; paragraphs go into per-page nodes.

    A labelled division ("Part 2", "Section 1", "Appendix A") closes every open heading except
    a higher division ("Chapter III" stays open over "Section 1").
    """
    root = Section(kind="document", container=True)
    sizes = sorted({item.size for item in items if item.kind == "heading"}, reverse=True)
    stack: list[tuple[tuple[int, int], int, Section]] = [((-1, -1), -1, root)]
    for item in items:
        if item.kind == "note":
            continue
        if item.kind != "heading":
            page_node(stack[-1][2], item.page).blocks.append(item.text)
            continue
        rank = (sum(size > item.size + 0.5 for size in sizes), numbering_depth(item.text))
        division = division_rank(item.text)
        order = _NOT_A_DIVISION if division is None else division
        while len(stack) > 1 and (stack[-1][0] >= rank if division is None else stack[-1][1] >= order):
            stack.pop()
        node = Section(kind="heading", heading=item.text, container=True, page=item.page)
        stack[-1][2].children.append(node)
        stack.append((rank, order, node))
    add_footnotes(root, items)
    prune(root)
    return root


def page_node(parent: Section, page: int) -> Section:
    """The parent's node for `page`, created when the parent's text reaches a new page."""
    last = parent.children[-1] if parent.children else None
    if last is None or last.kind != "page" or last.page != page:
        last = Section(kind="page", locator=f"page {page}", anchor=f"page={page}", page=page)
        parent.children.append(last)
    return last


def add_footnotes(root: Section, items: list[Item]) -> None:
    """Each footnote its own node ("footnote 12", opening its page), under one closing node."""
    notes = [item for item in items if item.kind == "note"]
    if not notes:
        return
    container = Section(kind="heading", heading="Footnotes", container=True, page=notes[0].page)
    for note in notes:
        container.children.append(Section(kind="footnote", locator=f"footnote {note.label}",
                                           anchor=f"page={note.page}", blocks=[note.text], page=note.page))
    root.children.append(container)


def prune(node: Section) -> bool:
    """Drop headings with no text under them; True when `node` keeps some text."""
    node.children = [child for child in node.children if prune(child)]
    return bool(node.blocks or node.children)
