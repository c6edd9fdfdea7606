"""PDF: the document's own numbering when it has one, else headings from the typography.

Stages, one module each: pdf_layout (pages to lines; running heads, page numbers and footnotes
set apart), pdf_blocks (lines to headings, paragraphs and footnotes), pdf_numbering (the labels a
document numbers its parts with), pdf_scheme (which numbering this document uses) and pdf_units
(the tree of numbered units with their locators), or pdf_outline (headings with "page N" nodes)
for a PDF without numbering. Every node carries the page where it starts, so that its passages
open the PDF there (#page=N).
"""

from __future__ import annotations

import re

import pymupdf

from ingest.parsers.common import word_vocabulary
from ingest.parsers.pdf_blocks import (
    demote_cover_headings,
    largest_heading,
    meaningful_title,
    page_items,
)
from ingest.parsers.pdf_layout import (
    body_size,
    drop_running_lines,
    read_pages,
    split_footnotes,
)
from ingest.parsers.pdf_outline import heading_tree
from ingest.parsers.pdf_scheme import has_numbering
from ingest.parsers.pdf_units import unit_tree
from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument

NAME = "pdf"

MAX_PAGES = 2000  # longer files are refused rather than read for minutes
# Inflated drawing instructions of one page; real pages need well under 1 MB. A few hundred KB
# of compressed stream can inflate to gigabytes (a "PDF bomb"), which text extraction would hold.
MAX_PAGE_CONTENT = 64 * 1024 * 1024
_MARKUP = re.compile(rb"^(\xef\xbb\xbf)?\s*<(!doctype|html|\?xml|!--)", re.IGNORECASE)


def sniff(fetched: Fetched) -> bool:
    """PDF by the %PDF signature, or by media type unless the bytes are a web page (servers
    answer with an error or login page under the type of the document asked for)."""
    if fetched.content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF"):
        return True
    return fetched.content_type == "application/pdf" and not _MARKUP.match(fetched.content[:1024])


def parse(fetched: Fetched) -> ParsedDocument:
    """The section tree of a PDF with a text layer."""
    with _open(fetched) as document:
        meta_title = (document.metadata or {}).get("title", "")
        pages = read_pages(document, fetched.url, MAX_PAGE_CONTENT)
    drop_running_lines(pages)
    lines = [line for page in pages for block in page.blocks for line in block.lines]
    if not lines:
        raise ParseError(f"{fetched.url}: the PDF has no text layer (scanned?); "
                         "run OCR on it first (e.g. with ocrmypdf) and add the result")
    body = body_size(lines)
    split_footnotes(pages, body)
    vocabulary = word_vocabulary(line.text for line in lines)
    items = [item for page in pages for item in page_items(page, body, vocabulary)]
    title = meaningful_title(meta_title) or largest_heading(items)
    items = demote_cover_headings(items, title)
    root = unit_tree(items) if has_numbering(items) else heading_tree(items)
    return ParsedDocument(root=root, title=title, parser=NAME)


def _open(fetched: Fetched) -> pymupdf.Document:
    """Open the bytes as a PDF, or explain to a person why they cannot be read."""
    try:
        document = pymupdf.open(stream=fetched.content, filetype="pdf")
    except (RuntimeError, ValueError) as error:
        raise ParseError(f"{fetched.url}: not a readable PDF (corrupt or not a PDF at all: {error})") from error
    if document.needs_pass and not document.authenticate(""):
        document.close()
        raise ParseError(f"{fetched.url}: the PDF is encrypted; policy-kb cannot read password-protected files")
    if document.is_repaired and b"%%EOF" not in fetched.content[-2048:]:
        document.close()
        raise ParseError(f"{fetched.url}: the PDF is truncated (an incomplete download?); fetch it again")
    if document.page_count > MAX_PAGES:
        count = document.page_count
        document.close()
        raise ParseError(f"{fetched.url}: the PDF has {count} pages; policy-kb reads at most {MAX_PAGES}")
    return document
