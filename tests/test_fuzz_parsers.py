"""Every parser, fed mutated real documents (flipped, cut, spliced bytes), only ever raises our
ParseError, and does so quickly. Hypothesis runs a fixed, reproducible set of cases (the
derandomized profile of tests/hypothesis_profile.py)."""

from __future__ import annotations

import functools
import time

import pymupdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.parse import PARSERS, parse
from kb.errors import ParseError
from tests.conftest import FIXTURES, SHARED_CORPUS, make_fetched

EXAMPLES = 60  # per parser: 300 mutated documents in about 20 s on the 2-core machine
TIME_LIMIT = 30.0  # seconds per parse, generous: the worst case seen is ~1 s
SLICE = 24_000  # bytes of a large real document used as one seed


def slices(path, count: int = 2) -> list[bytes]:
    """`count` windows of a real file: its start and its middle (cut HTML is still HTML)."""
    data = path.read_bytes()
    return [data[:SLICE]] + [data[len(data) * n // count:][:SLICE] for n in range(1, count)]


def pdf_pages(path, pages: int = 3) -> bytes:
    """The first pages of a real PDF, written out as a small PDF of their own."""
    with pymupdf.open(path) as source, pymupdf.open() as small:
        small.insert_pdf(source, from_page=0, to_page=pages - 1)
        return small.tobytes(garbage=3, deflate=True)


@functools.cache
def seeds() -> dict[str, list[tuple[bytes, str]]]:
    """(bytes, media type) per parser: our fixtures, and pieces of the real corpus when present."""
    corpus = SHARED_CORPUS if (SHARED_CORPUS / "manifest.json").is_file() else None
    fixture = lambda name: FIXTURES.joinpath(name).read_bytes()  # noqa: E731
    found = {
        "eurlex": [(fixture("eurlex_2016_min.html"), "text/html"), (fixture("eurlex_2024_min.html"), "text/html")],
        "html": [(fixture("html_policy_page.html"), "text/html"), (fixture("html_malformed.html"), "text/html")],
        "markdown": [(fixture("md_structure.md"), "text/markdown"), (fixture("md_no_heading.md"), "text/markdown")],
        "text": [(fixture("txt_policy.txt"), "text/plain")],
        "pdf": [],
    }
    if corpus:
        for name in ("eu/ai-act-2024-1689.html", "eu/gdpr-2016-679.html"):
            found["eurlex"] += [(piece, "text/html") for piece in slices(corpus / name)]
            found["html"] += [(piece, "text/html") for piece in slices(corpus / name, 1)]
        for name in ("open-source/open-r1-readme.md", "open-source/roost-awesome-safety-tools.md"):
            found["markdown"] += [(piece, "text/markdown") for piece in slices(corpus / name)]
            found["text"] += [(piece, "text/plain") for piece in slices(corpus / name, 1)]
        for name in ("international/nist-ai-rmf-1.0.pdf", "international/oecd-ai-recommendation-2019.pdf"):
            found["pdf"].append((pdf_pages(corpus / name), "application/pdf"))
    if not found["pdf"]:
        with pymupdf.open() as document:
            document.new_page().insert_text((72, 72), "Article 1\nThis Regulation lays down rules.")
            found["pdf"].append((document.tobytes(), "application/pdf"))
    return found


@st.composite
def mutations(draw, parser: str):
    """A seed document of `parser` with a few byte-level mutations: flips, cuts, splices, repeats."""
    data, media_type = draw(st.sampled_from(seeds()[parser]))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 512))]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 256))] * draw(st.integers(2, 50))
    detect = draw(st.booleans())  # half the time the parser is detected, as for a new URL
    return bytes(data), media_type, "" if detect else parser


def parse_or_refuse(data: bytes, media_type: str, hint: str) -> float:
    """Parse; a ParseError is a fine outcome, any other exception fails. Returns the seconds taken."""
    started = time.perf_counter()
    try:
        document = parse(make_fetched(data, content_type=media_type), hint=hint)
        assert any(block.strip() for node in document.root.walk() for block in node.blocks)
    except ParseError as error:
        assert str(error).startswith("file:///fixture: ")  # names the document for a person
    return time.perf_counter() - started


@pytest.mark.slow
@pytest.mark.parametrize("parser", list(PARSERS))
def test_mutated_documents_parse_or_raise_parse_error_quickly(parser):
    @settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutations(parser))
    def run(case):
        assert parse_or_refuse(*case) < TIME_LIMIT

    run()


@pytest.mark.slow
@settings(max_examples=EXAMPLES)
@given(st.binary(max_size=4096), st.sampled_from(["", *PARSERS]),
       st.sampled_from(["", "text/html", "application/pdf", "text/markdown", "text/plain"]))
def test_garbage_bytes_parse_or_raise_parse_error(data, hint, media_type):
    assert parse_or_refuse(data, media_type, hint) < TIME_LIMIT
