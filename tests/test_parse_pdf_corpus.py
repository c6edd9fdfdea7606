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
from tests.conftest import corpus_document, fetched_from_file

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


def _bands(page) -> tuple[set[str], list[str]]:
    """A page's lines in the outer bands (top and bottom 8%), and the text of its body."""
    height, margin, body = page.rect.height, set(), []
    for block in page.get_text("blocks"):
        if block[3] < 0.08 * height or block[1] > 0.92 * height:
            margin.update(" ".join(line.split()) for line in block[4].split("\n") if len(line.strip()) >= 8)
        else:
            body.append(" ".join(block[4].split()))
    return margin, body


@cache
def running_lines(path) -> tuple[list[re.Pattern], list[list[str]]]:
    """Lines in the outer bands of the pages repeated on a third of them, read straight from the
    PDF (not through the parser), digits matching any number; and each page's body lines (a title
    page may print the running title as its own text)."""
    counts: Counter[str] = Counter()
    bodies = []
    with pymupdf.open(path) as pdf:
        for page in pdf:
            margin, body = _bands(page)
            counts.update({re.sub(r"\d+", "#", line) for line in margin})
            bodies.append(body)
        pages = pdf.page_count
    patterns = [re.compile(re.escape(key).replace("\\#", "#").replace("#", r"\d+"))
                for key, count in counts.items() if count >= pages / 3]
    return patterns, bodies


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
    patterns, bodies = running_lines(path)
    for passage in passages:
        assert passage.tokens <= BUDGET, passage.locator
        assert re.fullmatch(re.escape(canonical_url) + r"#page=\d+", passage.url), passage.url
        page = int(passage.url.rsplit("=", 1)[1])
        for pattern in patterns:
            if pattern.search(" ".join(bodies[page - 1])):
                continue  # a title page printing the running title as its text
            glued = re.compile(rf"[a-z,;] (?:{pattern.pattern})(?: \d+)? [a-z]")  # inside a sentence
            assert not glued.search(passage.text), (passage.locator, pattern.pattern)
            assert not any(pattern.fullmatch(line) for line in passage.text.split("\n")), passage.locator


# --- Commission guidelines ------------------------------------------------------------------------

GUIDELINES = ["ec-guidelines-prohibited-ai-practices", "ec-guidelines-ai-system-definition",
              "ec-guidelines-gpai-obligations"]
# Documents numbering their paragraphs in one run: how many, and how a number is printed.
NUMBERED_PARAGRAPHS = {"ec-guidelines-prohibited-ai-practices": (433, "({})"),
                       "ec-guidelines-ai-system-definition": (64, "({})"),
                       "ec-guidelines-gpai-obligations": (144, "({})"),
                       "uk-ai-white-paper-2023": (130, "{}."),
                       "uk-ai-white-paper-response-2024": (188, "{}.")}


@pytest.mark.parametrize("doc_id,count,printed", [(key, *value) for key, value in NUMBERED_PARAGRAPHS.items()])
def test_paragraphs_numbered_as_in_the_document(parsed, shared_corpus, manifest, doc_id, count, printed):
    document = parsed(doc_id)
    paragraphs = nodes(document, "paragraph")
    assert [node.locator for node in paragraphs] == [f"paragraph {n}" for n in range(1, count + 1)]
    texts = page_texts(shared_corpus / manifest[doc_id]["file"])
    for number, node in enumerate(paragraphs, start=1):
        assert node.blocks[0].startswith(printed.format(number) + " ")
        assert node.anchor == f"page={node.page}"
        assert printed.format(number) in texts[node.page - 1], f"paragraph {number} is not on page {node.page}"


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


@pytest.mark.parametrize("doc_id,contents", [("ec-guidelines-prohibited-ai-practices", {2, 3, 4, 5}),
                                             ("ec-guidelines-gpai-obligations", {2, 3}),
                                             ("us-ai-action-plan-2025", {3})])
def test_contents_pages_leave_no_text(parsed, doc_id, contents):
    assert not [node.locator for node in parsed(doc_id).root.walk() if node.page in contents and node.blocks]


def test_paragraph_over_a_page_break_is_whole_and_footnotes_are_apart(parsed):
    document = parsed("ec-guidelines-prohibited-ai-practices")
    text = " ".join(node_at(document, "paragraph 6").blocks)
    assert "academia, public authorities, business associations, etc., collected during" in text
    assert "Regulation (EU) 2024/1689 of the European Parliament and of the Council" not in text
    note = node_at(document, "footnote 1")
    assert note.page == 6 and note.blocks[0].startswith("Regulation (EU) 2024/1689 of the European Parliament")


def test_ai_system_definition_roman_divisions(parsed):
    document = parsed("ec-guidelines-ai-system-definition")
    divisions = [node for node in document.root.children if node.kind == "section"]
    assert [node.locator for node in divisions] == ["Section I", "Section II", "Section III"]
    assert divisions[1].heading == "II. Objective and main elements of the AI system definition"
    assert [node.locator for node in divisions[1].children if node.kind == "section"] == [
        f"Section {n}" for n in range(1, 8)]
    assert heading_path(document, node_at(document, "paragraph 8")) == [divisions[1].heading]


@pytest.mark.parametrize("doc_id", ["nist-ai-rmf", "oecd-ai-recommendation"])
def test_framework_passages_are_clean_and_within_budget(passages_of, shared_corpus, manifest, doc_id):
    entry = manifest[doc_id]
    passages = passages_of(doc_id)
    assert_clean_passages(passages, shared_corpus / entry["file"], entry["canonical_url"])
    if doc_id == "nist-ai-rmf":
        govern = next(passage for passage in passages if passage.locator == "GOVERN 1.1")
        assert govern.url.endswith("#page=27")


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
    # "Arti-" + "ficial" across a line break, joined:
    assert document.title == "Safe, Secure, and Trustworthy Development and Use of Artificial Intelligence"
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
    # a footnote running onto the next page stays one footnote ("... 5 U.S.C. §" / "552 need not ...")
    assert [node.locator for node in nodes(document, "footnote")] == [f"footnote {n}" for n in range(1, 60)]
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


# --- UK white paper and the government's response ---------------------------------------------------------

def test_uk_white_paper_parts_sections_and_a_paragraph(parsed, passages_of, shared_corpus, manifest):
    document = parsed("uk-ai-white-paper-2023")
    parts = [node for node in document.root.children if node.kind == "part"]
    assert [node.locator for node in parts] == [f"Part {n}" for n in range(1, 8)]
    assert parts[2].heading == "Part Three: An innovative and iterative approach" and parts[2].page == 25
    assert node_at(document, "paragraph 45").page == 31
    assert node_at(document, "paragraph 45").blocks[0].startswith("45. Our framework is context-specific.")
    assert heading_path(document, node_at(document, "paragraph 45"))[-1] == (
        "3.2.2 Regulating the use – not the technology")
    assert [node.locator for node in document.root.children if node.kind == "annex"] == [
        "Annex A", "Annex B", "Annex C"]
    entry = manifest["uk-ai-white-paper-2023"]
    assert_clean_passages(passages_of("uk-ai-white-paper-2023"), shared_corpus / entry["file"], entry["canonical_url"])


def test_uk_response_paragraphs_end_before_the_list_of_respondents(parsed, passages_of, shared_corpus, manifest):
    document = parsed("uk-ai-white-paper-response-2024")
    assert node_at(document, "paragraph 188").page == 66
    assert node_at(document, "Annex B").page == 74  # numbered respondents 1, 2, ... are not paragraphs
    assert node_at(document, "Section 5.2.1").page == 30
    entry = manifest["uk-ai-white-paper-response-2024"]
    assert_clean_passages(passages_of("uk-ai-white-paper-response-2024"), shared_corpus / entry["file"],
                          entry["canonical_url"])


# --- GPAI Code of Practice, safety report, action plan ------------------------------------------------------

def test_gpai_code_commitment_measures_and_recitals(parsed, passages_of, shared_corpus, manifest):
    document = parsed("gpai-code-of-practice-copyright")
    commitment = node_at(document, "Commitment 1")
    assert commitment.heading == "Commitment 1 Copyright policy" and commitment.page == 4
    measures = [node for node in commitment.children if node.kind == "section"]
    assert [node.locator for node in measures] == [f"Measure 1.{n}" for n in range(1, 6)]
    assert [node.page for node in measures] == [4, 4, 5, 6, 6]
    assert node_at(document, "Measure 1.3(1)(a)").blocks[0].startswith("a) to employ web-crawlers that read")
    recitals = [node.locator for node in document.root.walk() if node.kind == "recital" and ")(" not in node.locator]
    assert recitals == [f"Recital ({letter})" for letter in "abcdef"]
    assert node_at(document, "Recital (c)(ii)").blocks[0].startswith("(ii) provides for exclusive rights")
    entry = manifest["gpai-code-of-practice-copyright"]
    assert_clean_passages(passages_of("gpai-code-of-practice-copyright"), shared_corpus / entry["file"],
                          entry["canonical_url"])


def test_safety_report_chapters_and_sections(parsed, passages_of, shared_corpus, manifest):
    document = parsed("international-ai-safety-report-interim-2024")
    chapters = [node for node in document.root.children if node.kind == "section"]
    assert [node.locator for node in chapters] == [f"Section {n}" for n in range(1, 7)]
    assert [node.locator for node in node_at(document, "Section 5").children if node.kind == "section"] == [
        f"Section 5.{n}" for n in range(1, 6)]
    assert node_at(document, "Section 5.1").heading == "5.1 Risk management and safety engineering"
    assert node_at(document, "Section 5.1").page == 68
    assert node_at(document, "Section 4.1.3").page == 44
    # its bibliography is numbered 1., 2.*, ... under one heading: references, not paragraphs
    assert not nodes(document, "paragraph")
    assert node_at(document, "Reference 2").blocks[0].startswith("2.* OpenAI, J. Achiam")
    assert node_at(document, "Reference 2").page == 91
    entry = manifest["international-ai-safety-report-interim-2024"]
    assert_clean_passages(passages_of("international-ai-safety-report-interim-2024"), shared_corpus / entry["file"],
                          entry["canonical_url"])


def test_action_plan_pillars_and_unnumbered_policy_areas_by_page(parsed, passages_of, shared_corpus, manifest):
    document = parsed("us-ai-action-plan-2025")
    pillars = [node for node in document.root.children if node.locator.startswith("Pillar")]
    assert [(node.locator, node.page) for node in pillars] == [("Pillar I", 6), ("Pillar II", 17), ("Pillar III", 23)]
    area = next(node for node in document.root.walk() if node.heading == "Encourage Open-Source and Open-Weight AI")
    assert [(child.locator, child.anchor) for child in area.children] == [("page 7", "page=7"), ("page 8", "page=8")]
    entry = manifest["us-ai-action-plan-2025"]
    assert_clean_passages(passages_of("us-ai-action-plan-2025"), shared_corpus / entry["file"], entry["canonical_url"])


@pytest.fixture(scope="module")
def extra_chapters(shared_corpus):
    """The two further GPAI Code chapters of ../shared/extra (not in the default corpus)."""
    extra = shared_corpus.parent / "extra"
    if not (extra / "manifest.json").is_file():
        pytest.skip(f"the extra GPAI Code chapters are not at {extra}")
    return {path.stem: parse(fetched_from_file(path, content_type="application/pdf"))
            for path in sorted(extra.glob("*.pdf"))}


def test_extra_gpai_chapters_measures(extra_chapters):
    safety = extra_chapters["gpai-code-of-practice-2025-safety-security"]
    commitments = [node.locator for node in safety.root.walk() if re.fullmatch(r"Commitment \d+", node.locator)]
    assert commitments == [f"Commitment {n}" for n in range(1, 11)]
    seven = node_at(safety, "Commitment 7")
    measures = [node.locator for node in seven.children if node.kind == "section"]
    assert measures == [f"Measure 7.{n}" for n in range(1, 8)]
    assert seven.page <= node_at(safety, "Measure 7.1").page <= node_at(safety, "Measure 7.7").page
    transparency = extra_chapters["gpai-code-of-practice-2025-transparency"]
    measures = [node.locator for node in transparency.root.walk() if re.fullmatch(r"Measure \d\.\d", node.locator)]
    assert measures == ["Measure 1.1", "Measure 1.2", "Measure 1.3"]
