"""The PDF parser: numbered sections when the document has them, else headings from typography
with one node per page under each heading; clear errors."""

from __future__ import annotations

import re

import pymupdf
import pytest

from ingest.parse import detect_parser, parse
from ingest.parsers import pdf
from kb.errors import ParseError
from tests.conftest import corpus_document, make_fetched

BODY_SIZE = 11


def heading_paths(root) -> dict[int, list[str]]:
    """Heading path of every node, keyed by id(node)."""
    paths: dict[int, list[str]] = {}

    def visit(node, path):
        paths[id(node)] = path
        for child in node.children:
            visit(child, path + ([node.heading] if node.heading else []))

    visit(root, [])
    return paths


def page_nodes(document):
    return [node for node in document.root.walk() if node.kind == "page"]


def find_heading(document, text: str):
    return next(node for node in document.root.walk() if node.heading == text)


def subtree_blocks(node) -> list[str]:
    return [block for part in node.walk() for block in part.blocks]


# --- a small report generated at run time -------------------------------------------------------

def _paragraph(page, y: float, text: str) -> float:
    """Write a body paragraph (explicit line breaks) at y; return the y below it."""
    spare = page.insert_textbox(pymupdf.Rect(72, y, 502, y + 400), text, fontsize=BODY_SIZE, fontname="helv")
    return y + 400 - spare + 10


def _heading(page, y: float, text: str, size: float) -> float:
    page.insert_text((72, y + size), text, fontsize=size, fontname="hebo")
    return y + size + 12


def _furniture(page, number: int) -> None:
    page.insert_text((72, 40), "Example Agency Report 2024", fontsize=9, fontname="helv")
    page.insert_text((290, 770), f"Page {number}", fontsize=9, fontname="helv")


def report_pdf(numbered: bool = True) -> bytes:
    """Five pages: cover, two numbered sections over two pages, an empty page, an appendix.
    Unnumbered, the headings read "Introduction", "Scope", "Obligations" and "Tests"."""
    def title(text: str) -> str:
        return text if numbered else text.split(" ", 1)[1].replace("A: ", "")

    doc = pymupdf.open()
    page = doc.new_page()
    _furniture(page, 1)
    y = _heading(page, 200, "Model Governance Report", 24)
    page.insert_text((72, y + 20), "Prepared by Example Agency", fontsize=12, fontname="helv")
    page = doc.new_page()
    _furniture(page, 2)
    y = _heading(page, 80, title("1. Introduction"), 16)
    y = _paragraph(page, y, "This report explains how the agency governs the models it uses. It sets out\n"
                            "the duties of each team and the checks that apply before a model is put into\n"
                            "service. The aim is trust-\nworthy and accountable use of automated systems.")
    y = _paragraph(page, y, "Every model has an owner. The owner keeps a record of the data, the tests and\n"
                            "the decisions taken about the model during its life.")
    y = _heading(page, y + 6, title("1.1 Scope"), 12)
    _paragraph(page, y, "The report covers models bought from suppliers and models built in house. It\n"
                        "does not cover simple spreadsheets or rule tables that staff maintain by hand.")
    page = doc.new_page()
    _furniture(page, 3)
    y = _paragraph(page, 80, "Models used only for research are covered once their results inform a decision\n"
                             "about a person or a public service.")
    y = _heading(page, y + 6, title("2. Obligations"), 16)
    y = _paragraph(page, y, "Before a model goes into service the owner must:")
    _paragraph(page, y, "(a) register the model in the agency inventory;\n"
                        "(b) run the bias and accuracy tests described in Appendix A;\n"
                        "(c) publish a plain-language summary for the public.")
    doc.new_page()
    page = doc.new_page()
    _furniture(page, 5)
    y = _heading(page, 80, title("Appendix A: Tests"), 16)
    _paragraph(page, y, "Accuracy tests compare the model's answers with a reviewed sample. Bias tests\n"
                        "compare error rates between groups of people affected by the model.")
    doc.set_metadata({"title": "report-final-v2.docx"})
    return doc.tobytes()


@pytest.fixture(scope="module")
def report():
    return parse(make_fetched(report_pdf(), url="https://example.org/report.pdf"))


def test_pdf_is_detected_by_signature_or_media_type():
    assert detect_parser(make_fetched(b"\xef\xbb\xbf\n%PDF-1.7 ...")) == "pdf"
    assert pdf.sniff(make_fetched(b"anything", content_type="application/pdf"))
    assert not pdf.sniff(make_fetched(b"<html>%PDF</html>"))


def test_report_title_comes_from_the_cover_when_metadata_is_a_file_name(report):
    assert report.parser == "pdf"
    assert report.title == "Model Governance Report"


def test_report_headings_nest_by_size_and_number(report):
    paths = heading_paths(report.root)
    scope = find_heading(report, "1.1 Scope")
    assert paths[id(scope)] == ["1. Introduction"]
    top = [node.heading for node in report.root.children if node.heading]
    assert top == ["1. Introduction", "2. Obligations", "Appendix A: Tests"]


def test_numbered_sections_are_cited_by_number_and_open_where_they_start(report):
    scope = find_heading(report, "1.1 Scope")
    assert (scope.locator, scope.anchor, scope.page) == ("Section 1.1", "page=2", 2)
    assert scope.blocks[1].startswith("Models used only for research")  # from page 3
    appendix = find_heading(report, "Appendix A: Tests")
    assert (appendix.kind, appendix.locator, appendix.anchor) == ("annex", "Appendix A", "page=5")


def test_unnumbered_section_over_a_page_break_gets_one_node_per_page():
    document = parse(make_fetched(report_pdf(numbered=False), url="https://example.org/report.pdf"))
    assert [node.heading for node in document.root.children if node.kind == "heading"] == [
        "Introduction", "Obligations", "Tests"]
    scope = find_heading(document, "Scope")
    assert [(child.locator, child.anchor, child.page) for child in scope.children] == [
        ("page 2", "page=2", 2), ("page 3", "page=3", 3)]
    assert scope.children[1].blocks[0].startswith("Models used only for research")


def test_running_header_page_numbers_and_empty_page_are_gone(report):
    everything = " ".join(block for node in report.root.walk() for block in node.blocks)
    assert "Example Agency Report 2024" not in everything
    assert not re.search(r"\bPage \d\b", everything)
    assert 4 not in {node.page for node in page_nodes(report)}


def test_lines_are_joined_into_paragraphs_without_hyphenation(report):
    first = find_heading(report, "1. Introduction").blocks
    assert len(first) == 2
    assert "put into service. The aim is trustworthy and accountable" in first[0]


def test_list_items_are_points_of_their_section(report):
    points = [node for node in report.root.walk() if node.kind == "point"]
    assert [(node.locator, node.anchor) for node in points] == [
        ("Section 2(a)", "page=3"), ("Section 2(b)", "page=3"), ("Section 2(c)", "page=3")]
    assert points[0].blocks == ["(a) register the model in the agency inventory;"]
    assert points[2].blocks == ["(c) publish a plain-language summary for the public."]


def test_encrypted_pdf_is_refused_with_a_clear_message(tmp_path):
    doc = pymupdf.open(stream=report_pdf(), filetype="pdf")
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(ParseError, match="encrypted; policy-kb cannot read password-protected files"):
        parse(make_fetched(path.read_bytes(), url="https://example.org/locked.pdf"))


def test_owner_password_only_pdf_is_read(tmp_path):
    doc = pymupdf.open(stream=report_pdf(), filetype="pdf")
    path = tmp_path / "restricted.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", permissions=0)
    assert parse(make_fetched(path.read_bytes())).title == "Model Governance Report"


def test_truncated_pdf_is_reported_as_truncated():
    content = report_pdf()
    with pytest.raises(ParseError, match="truncated"):
        parse(make_fetched(content[: len(content) // 2], url="https://example.org/cut.pdf"))


@pytest.mark.parametrize("content", [b"%PDF-1.7\n" + b"\x00garbage\xff" * 40, b"%PDF-"])
def test_corrupt_pdf_raises_parse_error(content):
    with pytest.raises(ParseError, match=re.escape("https://example.org/bad.pdf")):
        parse(make_fetched(content, url="https://example.org/bad.pdf"), hint="pdf")


def test_pdf_without_text_layer_says_scanned():
    doc = pymupdf.open()
    page = doc.new_page()
    page.draw_rect(pymupdf.Rect(50, 50, 300, 300), color=(0, 0, 0), fill=(0.5, 0.5, 0.5))
    with pytest.raises(ParseError, match=r"has no text layer \(scanned\?\)"):
        parse(make_fetched(doc.tobytes(), url="https://example.org/scan.pdf"))


def test_page_cap_refuses_huge_files(monkeypatch):
    monkeypatch.setattr(pdf, "MAX_PAGES", 3)
    with pytest.raises(ParseError, match="has 5 pages; policy-kb reads at most 3"):
        parse(make_fetched(report_pdf()))


# --- real documents --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nist(shared_corpus, manifest):
    return parse(corpus_document(shared_corpus, manifest, "nist-ai-rmf"))


@pytest.fixture(scope="module")
def oecd(shared_corpus, manifest):
    return parse(corpus_document(shared_corpus, manifest, "oecd-ai-recommendation"))


def test_nist_title_and_page_anchors(nist):
    # The executive summary is not numbered: it keeps "page N" nodes; numbered parts carry their
    # number and open the page they start on.
    assert nist.title == "Artificial Intelligence Risk Management Framework (AI RMF 1.0)"
    summary = find_heading(nist, "Executive Summary")
    assert [node.page for node in summary.children] == [6, 7, 8]
    for node in page_nodes(nist):
        assert (node.locator, node.anchor) == (f"page {node.page}", f"page={node.page}")
        assert node.blocks
    for node in nist.root.walk():
        if node.locator:
            assert node.anchor == f"page={node.page}" and 1 <= node.page <= 48


def test_nist_contents_pages_are_not_indexed(nist):
    assert not {4, 5} & {node.page for node in nist.root.walk() if node.blocks}


def test_nist_section_heading_tree(nist):
    valid = find_heading(nist, "3.1 Valid and Reliable")
    assert heading_paths(nist.root)[id(valid)] == ["Part 1: Foundational Information",
                                                   "3. AI Risks and Trustworthiness"]
    assert (valid.locator, valid.page) == ("Section 3.1", 18)
    assert valid.blocks[0].startswith("Validation is the “confirmation, through the provision")
    appendix = find_heading(nist, "Appendix A: Descriptions of AI Actor Tasks from Figures 2 and 3")
    assert appendix in nist.root.children and appendix.locator == "Appendix A"


def test_nist_subcategories_are_units_on_the_right_page(nist, shared_corpus, manifest):
    row = "GOVERN 1.1: Legal and regulatory requirements involving AI are understood, managed, and documented."
    govern = next(node for node in nist.root.walk() if node.locator == "GOVERN 1.1")
    assert govern.blocks == [row] and govern.page == 27
    with pymupdf.open(shared_corpus / manifest["nist-ai-rmf"]["file"]) as doc:
        assert "GOVERN 1.1:" in doc[26].get_text()  # physical page 27 is what #page=27 opens
    subcategories = [node.locator for node in nist.root.walk()
                     if re.fullmatch(r"(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+", node.locator)]
    assert len(subcategories) == len(set(subcategories)) == 72
    category = ("GOVERN 1: Policies, processes, procedures, and practices across the organization related to "
                "the mapping, measuring, and managing of AI risks are in place, transparent, and implemented "
                "effectively.")
    assert heading_paths(nist.root)[id(govern)][-2:] == ["5.1 Govern", category]


def test_nist_running_header_and_footer_removed(nist):
    for node in nist.root.walk():
        for block in node.blocks:
            assert "NIST AI 100-1 AI RMF 1.0" not in block
            assert not re.fullmatch(r"Page \d+", block)


def test_nist_paragraphs_are_joined_and_dehyphenated(nist):
    summary = find_heading(nist, "Executive Summary").children[0].blocks
    assert summary[0].startswith("Artificial intelligence (AI) technologies have significant potential to "
                                 "transform society and people’s lives")
    assert "AI technologies, however, also pose risks" in summary[0]
    words = [len(block.split()) for node in nist.root.walk() for block in node.blocks]
    assert sum(words) / len(words) > 25  # paragraphs, not lines


def test_oecd_principles_on_their_pages(oecd):
    assert oecd.title == "Recommendation of the Council on Artificial Intelligence"
    expected = {
        "1.1. Inclusive growth, sustainable development and well-being": (7, "Stakeholders should proactively"),
        "1.2. Human-centred values and fairness": (7, "a) AI actors should respect the rule of law"),
        "1.3. Transparency and explainability": (8, "AI Actors should commit to transparency"),
        "1.4. Robustness, security and safety": (8, "a) AI systems should be robust, secure and safe"),
        "1.5. Accountability": (8, "AI actors should be accountable for the proper functioning"),
    }
    paths = heading_paths(oecd.root)
    for number, (heading, (page, opening)) in enumerate(expected.items(), start=1):
        node = find_heading(oecd, heading)
        assert paths[id(node)] == ["Section 1: Principles for responsible stewardship of trustworthy AI"]
        assert (node.locator, node.anchor) == (f"Principle 1.{number}", f"page={page}")
        assert subtree_blocks(node)[0].startswith(opening)
    principle = find_heading(oecd, "1.1. Inclusive growth, sustainable development and well-being")
    assert principle.blocks[0].endswith("invigorating inclusive growth, sustainable development and well-being.")
    recommendations = [node.locator for node in oecd.root.walk() if node.locator.startswith("Recommendation ")
                       and "(" not in node.locator]
    assert recommendations == [f"Recommendation 2.{n}" for n in range(1, 6)]
    assert find_heading(oecd, "2.1. Investing in AI research and development").page == 8


def test_oecd_blank_page_has_no_node(oecd):
    assert 11 not in {node.page for node in page_nodes(oecd)}
