"""EUR-Lex acts (Official Journal HTML, 2016 and 2024 markup) to a tree of citable sections.

Recitals, chapters and sections, articles with their numbered paragraphs and points, and annexes,
each with the locator people cite ("Article 5(1)(f)", "Recital 12", "Annex III, point 1(a)") and
the EUR-Lex anchor that opens it ("art_5", "rct_12", "anx_III"). The page is read in two steps:
`eurlex_html` flattens the markup into blocks, `eurlex_tree` builds the sections.
"""

from __future__ import annotations

import re

from ingest.parsers.eurlex_html import blocks, read_soup
from ingest.parsers.eurlex_tree import ActBuilder
from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument

NAME = "eurlex"

# Article headings in both markups ("oj-ti-art" since 2018-ish, "ti-art" before), or the 2024
# subdivision wrappers.
SIGNATURE = re.compile(rb"""class=["'][^"']*\b(?:oj-)?ti-art\b|eli-subdivision""")


def sniff(fetched: Fetched) -> bool:
    """True when the bytes look like an EUR-Lex act (searched as bytes, not parsed)."""
    return SIGNATURE.search(fetched.content) is not None


def parse(fetched: Fetched) -> ParsedDocument:
    """Parse an EUR-Lex act into recitals, chapters, articles, paragraphs, points and annexes."""
    html = fetched.content.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not html.strip():
        raise ParseError(f"{fetched.url}: the document is empty")
    builder = ActBuilder()
    try:
        for block in blocks(read_soup(html).children):
            if not builder.feed(block):
                break
    except RecursionError as error:
        raise ParseError(f"{fetched.url}: the HTML is nested too deeply to be an EUR-Lex act") from error
    _check_complete(builder, fetched.url)
    return ParsedDocument(root=builder.root, title=builder.title, parser=NAME)


def _check_complete(builder: ActBuilder, url: str) -> None:
    """Refuse pages without the structure of an act, or that stop before the act's end."""
    kinds = [node.kind for node in builder.root.walk()]
    articles, recitals = kinds.count("article"), kinds.count("recital")
    if not articles and not recitals:
        raise ParseError(f"{url}: no articles or recitals found; is this an EUR-Lex act?")
    if not articles:
        raise ParseError(f"{url}: {recitals} recitals but no articles; the page looks truncated")
    if not builder.ended:
        last = [node.locator for node in builder.root.walk() if node.kind in ("article", "annex")][-1]
        raise ParseError(f"{url}: the act stops in {last} without its closing formula; "
                         "the page looks truncated")
