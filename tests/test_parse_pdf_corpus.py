"""The PDF parser on the real documents of ../shared/corpus: units counted as the documents
number them, page anchors, clean text and passages within the encoder's budget."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pymupdf
import pytest

from ingest.chunk import chunk
from ingest.parse import parse
from kb.types import Source
from tests.conftest import corpus_document

BUDGET = 200  # the default passage budget in word pieces; the encoder's hard limit is 256


@pytest.fixture(scope="module")
def parsed(shared_corpus, manifest):
    """Parse a corpus document once per module."""
    documents = {}

    def get(doc_id: str):
        if doc_id not in documents:
            documents[doc_id] = parse(corpus_document(shared_corpus, manifest, doc_id))
        return documents[doc_id]

    return get


def nodes(document, kind: str | None = None):
    return [node for node in document.root.walk() if kind is None or node.kind == kind]


def node_at(document, locator: str):
    matches = [node for node in document.root.walk() if node.locator == locator]
    assert len(matches) == 1, f"{locator}: {len(matches)} nodes"
    return matches[0]


def heading_path(document, target) -> list[str]:
    def visit(node, path):
        if node is target:
            return path
        for child in node.children:
            found = visit(child, path + ([node.heading] if node.heading else []))
            if found is not None:
                return found
        return None

    return visit(document.root, [])


@cache
def page_texts(path) -> list[str]:
    with pymupdf.open(path) as pdf:
        return [" ".join(page.get_text().split()) for page in pdf]


@cache
def running_lines(path) -> list[re.Pattern]:
    """Lines in the outer bands of the pages repeated on a third of them, read straight from
    the PDF (not through the parser): running heads and feet, digits as any number."""
    counts: Counter[str] = Counter()
    with pymupdf.open(path) as pdf:
        for page in pdf:
            height, keys = page.rect.height, set()
            for block in page.get_text("blocks"):
                if block[3] < 0.08 * height or block[1] > 0.92 * height:
                    keys.update(" ".join(line.split()) for line in block[4].split("\n")
                                if len(line.strip()) >= 8)
            counts.update(re.sub(r"\d+", "#", key) for key in keys)
        pages = pdf.page_count
    return [re.compile(re.escape(key).replace("\\#", "#").replace("#", r"\d+"))
            for key, count in counts.items() if count >= pages / 3]


@pytest.fixture(scope="module")
def passages_of(parsed, manifest, embedder):
    """The passages a document's tree is cut into, with the real encoder's word pieces."""
    cut = {}

    def get(doc_id: str):
        if doc_id not in cut:
            entry = manifest[doc_id]
            source = Source(id=doc_id, title=entry["title"], canonical_url=entry["canonical_url"])
            cut[doc_id] = chunk(parsed(doc_id), source, embedder.count_tokens, BUDGET)
        return cut[doc_id]

    return get


def assert_clean_passages(passages, path, canonical_url: str) -> None:
    """Within budget, opening a page of the PDF, free of running heads and feet."""
    assert passages
    patterns = running_lines(path)
    for passage in passages:
        assert passage.tokens <= BUDGET, passage.locator
        assert re.fullmatch(re.escape(canonical_url) + r"#page=\d+", passage.url), passage.url
        for pattern in patterns:
            assert not pattern.search(passage.text), (passage.locator, pattern.pattern)


# --- Commission guidelines ------------------------------------------------------------------------

GUIDELINES = {"ec-guidelines-prohibited-ai-practices": 433, "ec-guidelines-ai-system-definition": 64,
              "ec-guidelines-gpai-obligations": 144}


@pytest.mark.parametrize("doc_id,count", GUIDELINES.items())
def test_guidelines_paragraphs_numbered_as_in_the_document(parsed, shared_corpus, manifest, doc_id, count):
    document = parsed(doc_id)
    paragraphs = nodes(document, "paragraph")
    assert [node.locator for node in paragraphs] == [f"paragraph {n}" for n in range(1, count + 1)]
    texts = page_texts(shared_corpus / manifest[doc_id]["file"])
    for number, node in enumerate(paragraphs, start=1):
        assert node.blocks[0].startswith(f"({number}) ")
        assert node.anchor == f"page={node.page}"
        assert f"({number})" in texts[node.page - 1], f"paragraph {number} is not on page {node.page}"


@pytest.mark.parametrize("doc_id", GUIDELINES)
def test_guidelines_passages_are_clean_and_within_budget(passages_of, shared_corpus, manifest, doc_id):
    entry = manifest[doc_id]
    assert_clean_passages(passages_of(doc_id), shared_corpus / entry["file"], entry["canonical_url"])


def test_prohibited_practices_sections_and_a_paragraph_checked_by_hand(parsed, passages_of):
    document = parsed("ec-guidelines-prohibited-ai-practices")
    deployers = node_at(document, "paragraph 17")
    assert deployers.page == 11 and deployers.blocks[0].startswith("(17) Deployers are natural or legal persons")
    assert heading_path(document, deployers) == ["2. OVERVIEW OF PROHIBITED AI PRACTICES",
                                                 "2.4. Personal scope: responsible actors"]
    assert node_at(document, "Section 2.5.1").heading == "2.5.1. National security, defence and military purposes"
    assert node_at(document, "Section 3.2.1(a)").heading == "a) Subliminal techniques"
    assert node_at(document, "Section 3.2.1(a)").page == 24
    assert node_at(document, "paragraph 2(iv)").blocks[0].startswith("(iv) Minimal to no risk")
    url = next(p.url for p in passages_of("ec-guidelines-prohibited-ai-practices") if p.locator == "paragraph 17")
    assert url.endswith("#page=11")


def test_paragraph_over_a_page_break_is_whole_and_footnotes_are_apart(parsed):
    document = parsed("ec-guidelines-prohibited-ai-practices")
    text = " ".join(node_at(document, "paragraph 6").blocks)
    assert "academia, public authorities, business associations, etc., collected during" in text
    assert "Regulation (EU) 2024/1689 of the European Parliament and of the Council" not in text
    note = node_at(document, "footnote 1")
    assert note.page == 6 and note.blocks[0].startswith("Regulation (EU) 2024/1689 of the European Parliament")


def test_gpai_guidelines_annex_sections(parsed):
    document = parsed("ec-guidelines-gpai-obligations")
    annex = node_at(document, "Annex")
    assert annex.heading == "Annex: Training compute of general-purpose AI models" and annex.page == 32
    assert node_at(document, "Section A.2.1").heading == "A.2.1. Hardware-based approach"
    assert node_at(document, "Section A.2.1").page == 34
    assert node_at(document, "Section 2.3.1").page == 11


# --- Executive Order 14110 (Federal Register print) -------------------------------------------------

def test_executive_order_sections_as_numbered(parsed, passages_of, shared_corpus, manifest):
    document = parsed("us-eo-14110")
    sections = [node for node in document.root.children if node.kind == "section"]
    assert [node.locator for node in sections] == [f"Sec. {n}" for n in range(1, 14)]
    assert sections[0].heading == "Section 1. Purpose."
    assert [node.heading for node in sections[1:]][:2] == ["Sec. 2. Policy and Principles.", "Sec. 3. Definitions."]
    definitions = [node.locator for node in node_at(document, "Sec. 3").children if node.kind == "point"]
    letters = [chr(n) for n in range(ord("a"), ord("z") + 1)] + [c * 2 for c in "abcdefg"]
    assert definitions == [f"Sec. 3({letter})" for letter in letters]
    entry = manifest["us-eo-14110"]
    assert_clean_passages(passages_of("us-eo-14110"), shared_corpus / entry["file"], entry["canonical_url"])


def test_executive_order_subsections_checked_by_hand(parsed, shared_corpus, manifest):
    document = parsed("us-eo-14110")
    assert node_at(document, "Sec. 4.2").heading == "4.2. Ensuring Safe and Reliable AI."
    point = node_at(document, "Sec. 4.2(a)(i)")
    assert point.page == 7 and point.blocks[0].startswith("(i) Companies developing or demonstrating an intent")
    assert node_at(document, "Sec. 4.2(a)(i)(C)").blocks[0].startswith("(C) the results of any developed")
    assert node_at(document, "Sec. 3(k)(ii)").blocks[0].startswith("(ii) enabling powerful offensive cyber")
    assert node_at(document, "Sec. 4.2(d)(i)(B)(1)").blocks[0].startswith("(1) the identity of such foreign person")
    texts = page_texts(shared_corpus / manifest["us-eo-14110"]["file"])
    for locator in ("Sec. 5", "Sec. 10.1", "Sec. 13"):
        node = node_at(document, locator)
        assert node.heading in texts[node.page - 1]


# --- OMB memoranda ------------------------------------------------------------------------------------

def memo_sections(document) -> list[str]:
    return [node.heading for node in document.root.walk()
            if node.kind == "section" and re.fullmatch(r"Section \d", node.locator)]


def test_m_24_10_sections_and_subsections(parsed, passages_of, shared_corpus, manifest):
    document = parsed("omb-m-24-10")
    assert memo_sections(document) == [
        "1. OVERVIEW", "2. SCOPE", "3. STRENGTHENING ARTIFICIAL INTELLIGENCE GOVERNANCE",
        "4. ADVANCING RESPONSIBLE ARTIFICIAL INTELLIGENCE INNOVATION",
        "5. MANAGING RISKS FROM THE USE OF ARTIFICIAL INTELLIGENCE", "6. DEFINITIONS"]
    responsibilities = node_at(document, "Section 3(b)(ii)")
    assert responsibilities.page == 6 and responsibilities.blocks[0].startswith("ii. Responsibilities.")
    assert node_at(document, "Section 5(c)(iv)(A)(3)(b)").blocks[0].startswith("b. the quality and representative")
    assert [node.locator for node in node_at(document, "Section 4(a)").children] == [
        f"Section 4(a)({n})" for n in ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix")]
    assert node_at(document, "Appendix II").heading == "Appendix II: Consolidated Table of Actions"
    entry = manifest["omb-m-24-10"]
    assert_clean_passages(passages_of("omb-m-24-10"), shared_corpus / entry["file"], entry["canonical_url"])


def test_m_25_21_ocr_misread_numerals_do_not_break_the_tree(parsed, passages_of, shared_corpus, manifest):
    document = parsed("omb-m-25-21")
    assert memo_sections(document) == ["1. SCOPE", "2. DRIVING AI INNOVATION", "3. IMPROVING AI GOVERNANCE",
                                       "4. FOSTERING PUBLIC TRUST IN FEDERAL USE OF AI", "5. DEFINITIONS",
                                       "6. PURPOSES FOR WHICH AI IS PRESUMED TO BE HIGH-IMPACT",
                                       "7. METHODS OF UNDERSTANDING AI RISK MANAGEMENT",
                                       "8. Public Consultation and Feedback"]
    covered = [node for node in node_at(document, "Section 1(b)").children if node.kind == "point"]
    # printed i. ii. iii. iv., scanned as "1." "11." "111." "1v."
    assert [node.locator for node in covered] == [f"Section 1(b)({n})" for n in ("i", "ii", "iii", "iv")]
    assert covered[1].blocks[0].startswith("11. assessments of particular AI applications")
    assert node_at(document, "Section 2(a)(ii)(G)").blocks[0].startswith("G. identify, track, and facilitate")
    assert node_at(document, "Section 2(e)(iii)").page == 9
    entry = manifest["omb-m-25-21"]
    assert_clean_passages(passages_of("omb-m-25-21"), shared_corpus / entry["file"], entry["canonical_url"])


# --- NIST AI 600-1 (Generative AI Profile) --------------------------------------------------------------

def test_genai_profile_risks_and_actions(parsed, passages_of, shared_corpus, manifest):
    document = parsed("nist-ai-600-1")
    risks = [node for node in node_at(document, "Section 2").children if node.kind == "section"]
    assert [node.locator for node in risks] == [f"Section 2.{n}" for n in range(1, 13)]
    confabulation = node_at(document, "Section 2.2")
    assert (confabulation.heading, confabulation.page) == ("2.2. Confabulation", 10)
    with pymupdf.open(shared_corpus / manifest["nist-ai-600-1"]["file"]) as pdf:  # ids opening a table row
        text = "".join(page.get_text() for page in pdf)
    printed = re.findall(r"^((?:GV|MP|MS|MG)-\d+\.\d+-\d{3})", text, re.MULTILINE)
    actions = [node for node in document.root.walk() if re.fullmatch(r"(GV|MP|MS|MG)-\d+\.\d+-\d{3}", node.locator)]
    assert len(actions) == len({node.locator for node in actions}) == 211
    assert [node.locator for node in actions] == printed
    subcategory = node_at(document, "GOVERN 1.2")
    assert [child.locator for child in subcategory.children] == ["GV-1.2-001", "GV-1.2-002"]
    first = node_at(document, "GV-1.2-001")
    assert first.page == 18 and first.blocks[0].startswith("GV-1.2-001 Establish transparency policies")
    entry = manifest["nist-ai-600-1"]
    assert_clean_passages(passages_of("nist-ai-600-1"), shared_corpus / entry["file"], entry["canonical_url"])
