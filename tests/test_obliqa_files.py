"""bench/obliqa.py writes each ObliQA document as the Markdown file a user would add: the clauses
must come back from the Markdown reader as passages cited exactly by their clause numbers, or the
benchmark's scoring (document and clause number) would not find them."""

from __future__ import annotations

import importlib.util
import sys

from ingest.chunk import chunk
from ingest.parse import parse
from kb.types import Source
from tests.conftest import REPO, make_fetched

_spec = importlib.util.spec_from_file_location("obliqa_bench", REPO / "bench" / "obliqa.py")
assert _spec and _spec.loader
obliqa = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = obliqa  # its dataclasses look their module up
_spec.loader.exec_module(obliqa)

# Shaped like the benchmark's documents (a chapter, a titled section, clauses, guidance, a clause
# nested deeper than Markdown's six heading levels, text that looks like Markdown), our own words.
PASSAGES = [{"PassageID": number, "Passage": text} for number, text in [
    ("4.", "SYSTEMS AND CONTROLS"),
    ("4.2", "Record keeping"),
    ("4.2.1", ""),
    ("4.2.1.(1)", "A firm must keep its records for six years.\n(a)\tin English; and\n(b)\tin order."),
    ("4.2.1.(2)", "# Records kept abroad must be available within two days."),
    ("4.2.1.Guidance", ""),
    ("4.2.1.Guidance.1.", "The Regulator expects records to be legible."),
    ("4.2.1.Guidance.1.(a)", ""),
    ("4.2.1.Guidance.1.(a).(i)", "Scanned copies are legible when printed at their original size."),
    ("4.3", "A firm must name the person responsible for its records."),
    ("Part 5", "Transitional"),
    ("Part 5.1.", "Application\nThis Part applies until the end of 2030."),
]]


def word_counts(texts: list[str]) -> list[int]:
    """Words as tokens: enough for the chunker's budget here."""
    return [len(text.split()) for text in texts]


def passages_of(text: str):
    """The passages the Markdown reader and the chunker make of a file's text."""
    document = parse(make_fetched(text.encode(), content_type="text/markdown", filename="rules.md"))
    return chunk(document, Source(id="rules", title="Rules", canonical_url=""), word_counts, 200)


def test_every_clause_with_text_is_one_passage_cited_by_its_number():
    passages = passages_of(obliqa.markdown_file(PASSAGES))
    assert [p.locator for p in passages] == [passage["PassageID"] for passage in PASSAGES if passage["Passage"]]
    assert passages[3].text.startswith("# Records kept abroad")  # passage text is never read as a heading
