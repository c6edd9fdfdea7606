"""Generic web pages and plain text: main text only, heading trees, paragraphs, clear errors."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from ingest.parse import detect_parser, parse
from ingest.parsers import html, text
from kb.errors import ParseError
from tests.conftest import FIXTURES, fetched_from_file, make_fetched


def nodes(document) -> list[tuple[str, str, str, list[str]]]:
    return [(n.kind, n.locator, n.anchor, n.blocks) for n in document.root.walk() if n.kind != "document"]


def everything(document) -> str:
    return "\n".join(block for n in document.root.walk() for block in n.blocks)


# --- HTML ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page():
    return parse(fetched_from_file(FIXTURES / "html_policy_page.html"))


def test_html_is_detected_after_doctype_comments_and_bom():
    saved = b"\xef\xbb\xbf  <!-- saved page -->\n<!DOCTYPE html><html><p>x</p></html>"
    assert detect_parser(make_fetched(saved)) == "html"
    assert html.sniff(make_fetched(b"<p>fragment</p>", content_type="text/html"))
    assert not html.sniff(make_fetched(b"Plain text that mentions <html> later"))


def test_page_title_and_heading_anchors(page):
    assert page.parser == "html"
    assert page.title == "Responsible AI Guidelines – Example Agency"
    headings = [(locator, anchor) for kind, locator, anchor, _ in nodes(page) if kind == "heading"]
    assert headings == [
        ("Responsible AI Guidelines", "responsible-ai-guidelines"),
        ("1. Scope", "scope"),  # the enclosing <section id="scope">
        ("2. Risk levels", "risk-levels"),  # the heading's own id
        ("Definitions", "definitions"),
        ("1. Scope", "1-scope"),  # a slug that does not collide with id="scope"
    ]
    definitions = next(n for n in page.root.walk() if n.locator == "Definitions")
    risk_levels = next(n for n in page.root.walk() if n.locator == "2. Risk levels")
    assert definitions in risk_levels.children


def test_page_furniture_scripts_and_forms_are_dropped(page):
    text_of_page = everything(page)
    for furniture in ("Home", "About us", "Example Agency ·", "newsletter", "window.analytics",
                      "font-family", "chart label", "Search"):
        assert furniture not in text_of_page


def test_paragraphs_lists_tables_and_definitions(page):
    scope = next(n for n in page.root.walk() if n.locator == "1. Scope")
    assert scope.blocks[0] == ("The guidelines cover all automated decision systems. "
                               "They do not cover spreadsheets.")
    assert "including eligibility checks" in scope.blocks
    blocks = everything(page).split("\n")
    assert "These guidelines apply to every AI system the agency buys, builds or uses." in blocks  # NBSP gone
    assert "Level | Requirement" in blocks and "High | Impact assessment before use" in blocks
    assert "Deployer: The unit that uses the system." in blocks
    assert "Loose text inside a div." in blocks and "A paragraph inside the same div." in blocks


def test_malformed_html_is_read_leniently():
    document = parse(fetched_from_file(FIXTURES / "html_malformed.html"))
    assert document.title == "Broken page"
    assert nodes(document) == [("heading", "Unclosed heading", "unclosed-heading",
                                ["First paragraph with unclosed bold", "Second paragraph & an entity",
                                 "Nested paragraph"])]


def test_text_before_first_heading_is_introduction():
    document = parse(make_fetched(b"<html><body><p>Preface words.</p><h2>Part</h2><p>Body.</p></body></html>"))
    assert nodes(document)[0] == ("text", "Introduction", "", ["Preface words."])
    assert document.title == ""


def test_page_without_text_is_a_parse_error():
    empty = b"<html><body><nav>Menu</nav><img src='x.png'><script>1</script></body></html>"
    with pytest.raises(ParseError, match=re.escape("https://example.org/blank: the web page has no readable text")):
        parse(make_fetched(empty, url="https://example.org/blank"))


# --- plain text ------------------------------------------------------------------------------------

def test_text_headings_and_joined_paragraphs():
    document = parse(fetched_from_file(FIXTURES / "txt_policy.txt"))
    assert document.parser == "text" and document.title == "NATIONAL AI STRATEGY"
    assert nodes(document) == [
        ("heading", "NATIONAL AI STRATEGY", "",
         ["This strategy sets out how the government will support trustworthy artificial intelligence. "
          "It applies to all ministries and public bodies."]),
        ("heading", "1. Introduction", "",
         ["Artificial intelligence is changing how public services are delivered. "
          "This section explains why a strategy is needed."]),
        ("heading", "1.1 Scope", "",
         ["The strategy covers procurement, development and use of AI systems, including "
          "non-discrimination safeguards."]),
        ("heading", "Annex A", "", ["Glossary of terms used in this strategy."]),
    ]
    introduction = next(n for n in document.root.walk() if n.locator == "1. Introduction")
    assert [child.locator for child in introduction.children] == ["1.1 Scope"]


def test_text_without_headings_goes_under_text():
    document = parse(make_fetched("Café notes\u00a0with odd\u200b spaces,\nwrapped.\r\n\r\nSecond one.".encode()))
    assert nodes(document) == [("text", "Text", "", ["Café notes with odd spaces, wrapped.", "Second one."])]


def test_text_never_wrapped_keeps_one_paragraph_per_line():
    first, second = "A paragraph typed as one long line. " * 6, "Another one, also on a single line. " * 6
    document = parse(make_fetched(f"{first}\n{second}\n".encode()))
    assert document.root.children[0].blocks == [first.strip(), second.strip()]


def test_text_is_the_fallback_but_binary_is_refused():
    assert detect_parser(make_fetched("Ünïcode prose without markup.".encode())) == "text"
    assert text.sniff(make_fetched("Latin-1 text: café".encode("latin-1")))
    assert not text.sniff(make_fetched(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    with pytest.raises(ParseError, match="does not look like text"):
        parse(make_fetched(bytes(range(1, 32)) * 50, url="file:///blob.bin"), hint="text")


# --- licences: numbered clauses ----------------------------------------------------------------------

LLAMA_CLAUSES = ["Section 1", "Section 1(a)", "Section 1(b)", "Section 1(b)(i)", "Section 1(b)(ii)",
                 "Section 1(b)(iii)", "Section 1(b)(iv)", "Section 2", "Section 3", "Section 4", "Section 5",
                 "Section 5(a)", "Section 5(b)", "Section 5(c)", "Section 6", "Section 7"]


@pytest.fixture(scope="module", params=["llama-3-1-community-license", "llama-4-community-license"])
def licence(request, shared_corpus, manifest):
    from tests.conftest import corpus_document

    return request.param, parse(corpus_document(shared_corpus, manifest, request.param), hint="text")


def clause(document, locator: str):
    return next(n for n in document.root.walk() if n.locator == locator)


def test_a_licence_is_cut_along_its_numbered_clauses(licence):
    _, document = licence
    assert [n.locator for n in document.root.walk() if n.locator.startswith("Section")] == LLAMA_CLAUSES
    assert [n.heading for n in clause(document, "Section 1").children] == ["a. Grant of Rights",
                                                                           "b. Redistribution and Use"]
    assert clause(document, "Section 2").heading == "2. Additional Commercial Terms"
    assert "700 million monthly active users" in clause(document, "Section 2").blocks[0]
    assert clause(document, "Section 1(b)(ii)").blocks[0].startswith("ii. If you receive Llama Materials")
    assert clause(document, "Section 5(c)").blocks[0].startswith("c. If you institute litigation")


def test_licence_captions_are_headings_not_passages(licence):
    _, document = licence
    assert clause(document, "Section 1").blocks == [] and clause(document, "Section 5").blocks == []
    # The definitions before the clauses stay under the document's own headings.
    definitions = [n for n in document.root.walk() if any("“Licensee”" in b for b in n.blocks)]
    assert [n.kind for n in definitions] == ["heading"]


def test_licence_passages_carry_the_clause_locators_within_the_budget(licence, embedder):
    from ingest.chunk import chunk
    from kb.types import Source

    doc_id, document = licence
    source = Source(id=doc_id, title="Llama licence", canonical_url="https://github.com/meta-llama/llama-models")
    passages = chunk(document, source, embedder.count_tokens, 254)
    located = {p.locator: p.text for p in passages if p.locator.startswith("Section")}
    assert "Section 2" in located and "Section 1(b)(iv)" in located and "Section 7" in located
    assert "Acceptable Use Policy" in located["Section 1(b)(iv)"]
    assert max(p.tokens for p in passages) <= 254
    # Every word of every clause is in some passage, once.
    clause_text = " ".join(b for n in document.root.walk() if n.locator.startswith("Section") for b in n.blocks)
    assert " ".join(located.values()).split() == clause_text.split()


@pytest.mark.parametrize(("body", "locators"), [
    # A list inside a paragraph, numbered "1." and "3.": no clause numbering
    ("Notes\n\nWe checked 1. the inputs and\n3. the outputs.\n", []),
    # A report numbered "1." / "1.1": headings, as before
    ("1. Introduction\n\nText.\n\n1.1 Scope\n\nMore.\n\n2. Method\n\nEven more.\n", []),
    # Terms that skip a number keep the clauses they have; the stray number is text
    ("TERMS\n\n1. Use. You may use it.\n\n2. Limits. Not for harm.\n\n4. Misprint.\n",
     ["Section 1", "Section 2"]),
    ("TERMS\n\n1. Use. You may\n   a. copy it;\n   b. share it.\n\n2. End. It ends.\n",
     ["Section 1", "Section 1(a)", "Section 1(b)", "Section 2"]),
])
def test_only_labels_that_continue_the_numbering_open_clauses(body, locators):
    document = parse(make_fetched(body.encode()), hint="text")
    assert [n.locator for n in document.root.walk() if n.locator.startswith("Section")] == locators
    headings = [n.heading for n in document.root.walk() if n.heading]
    assert Counter(body.split()) <= Counter(" ".join([*headings, everything(document)]).split())  # nothing lost
