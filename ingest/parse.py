"""Bytes to structure: pick the parser for a fetched document and run it.

Each parser is one module in ingest/parsers/ exposing `NAME`, `sniff(fetched) -> bool` and
`parse(fetched) -> ParsedDocument`. Adding a publisher's format is one new file and one line in
PARSERS below. Parsers know nothing about chunking or storage.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kb.errors import ParseError
from kb.types import Fetched, ParsedDocument

# Order matters for detection: the most specific format first.
PARSERS: dict[str, str] = {
    "eurlex": "ingest.parsers.eurlex",
    "pdf": "ingest.parsers.pdf",
    "markdown": "ingest.parsers.markdown",
    "html": "ingest.parsers.html",
    "text": "ingest.parsers.text",
}


def parser_module(name: str) -> ModuleType:
    """The parser module registered under `name`."""
    if name not in PARSERS:
        known = ", ".join(PARSERS)
        raise ParseError(f"unknown parser '{name}' (known: {known})")
    return importlib.import_module(PARSERS[name])


def detect_parser(fetched: Fetched) -> str:
    """Name of the first registered parser that recognises the bytes."""
    for name in PARSERS:
        if parser_module(name).sniff(fetched):
            return name
    raise ParseError(
        f"{fetched.url}: unsupported content ({fetched.content_type or 'unknown type'}); "
        "expected HTML, PDF, Markdown or plain text"
    )


def parse(fetched: Fetched, hint: str = "") -> ParsedDocument:
    """Parse fetched bytes into a document tree, with the hinted parser or a detected one."""
    if not fetched.content.strip():
        raise ParseError(f"{fetched.url}: the document is empty")
    name = hint or detect_parser(fetched)
    try:
        document = parser_module(name).parse(fetched)
    except RecursionError as error:  # hostile or broken markup: 100,000 nested elements
        raise ParseError(f"{fetched.url}: the document is nested too deeply to read "
                         f"({name} parser)") from error
    document.parser = name
    if not any(block.strip() for node in document.root.walk() for block in node.blocks):
        raise ParseError(f"{fetched.url}: no text could be extracted ({name} parser)")
    return document
