"""Legal references in questions: the forms people write come out as the locators passages carry."""

import pytest

from kb.references import Reference, find_references, parent_locators

ALIASES = {
    "GDPR": "gdpr",
    "General Data Protection Regulation": "gdpr",
    "Regulation (EU) 2016/679": "gdpr",
    "2016/679": "gdpr",
    "AI Act": "eu-ai-act",
    "AIA": "eu-ai-act",
    "Artificial Intelligence Act": "eu-ai-act",
    "2024/1689": "eu-ai-act",
}


def found(query: str) -> list[tuple[str, str | None]]:
    return [(reference.locator, reference.doc_id) for reference in find_references(query, ALIASES)]


FORMS = [
    # Articles and their paragraphs and points
    ("Article 5", [("Article 5", None)]),
    ("Art. 5", [("Article 5", None)]),
    ("Art 5", [("Article 5", None)]),
    ("ARTICLE 5", [("Article 5", None)]),
    ("Art.5", [("Article 5", None)]),
    ("Article 4a", [("Article 4a", None)]),
    ("article 6(1)(a)", [("Article 6(1)(a)", None)]),
    ("Art. 6 (1) (a)", [("Article 6(1)(a)", None)]),
    ("Article  6 ( 1 )( a )", [("Article 6(1)(a)", None)]),
    ("Article 6 paragraph 1 point (a)", [("Article 6(1)(a)", None)]),
    ("Article 6, paragraph 1, point (a)", [("Article 6(1)(a)", None)]),
    ("Article 6(1) lit. a", [("Article 6(1)(a)", None)]),
    ("Article 6(1) letter (a)", [("Article 6(1)(a)", None)]),
    ("Art. 3 No. 39", [("Article 3(39)", None)]),
    ("Article 3 point 39", [("Article 3(39)", None)]),
    ("Article 3(39)", [("Article 3(39)", None)]),
    ("Article 5(1)(h)(i)", [("Article 5(1)(h)(i)", None)]),
    ("Article 5(1)(H)(iii)", [("Article 5(1)(h)(iii)", None)]),
    ("point (a) of Article 6(1)", [("Article 6(1)(a)", None)]),
    ("point (a) of paragraph 1 of Article 6", [("Article 6(1)(a)", None)]),
    # Recitals
    ("Recital 47", [("Recital 47", None)]),
    ("recital (47)", [("Recital 47", None)]),
    ("Rec. 47", [("Recital 47", None)]),
    # Annexes
    ("Annex III", [("Annex III", None)]),
    ("annex iii", [("Annex III", None)]),
    ("Annex 3", [("Annex III", None)]),
    ("Annex 14", [("Annex XIV", None)]),
    ("Annex III point 4", [("Annex III, point 4", None)]),
    ("Annex III, point 4", [("Annex III, point 4", None)]),
    ("point 4 of Annex III", [("Annex III, point 4", None)]),
    ("point 4 of the Annex III", [("Annex III, point 4", None)]),
    ("Annex III(4)", [("Annex III, point 4", None)]),
    ("Annex III point 1(a)", [("Annex III, point 1(a)", None)]),
    ("Annex III(1)(a)", [("Annex III, point 1(a)", None)]),
    ("Annex I Section A", [("Annex I, Section A", None)]),
    ("Annex VIII, Section B", [("Annex VIII, Section B", None)]),
    ("Annex I, Section A, point 1", [("Annex I, Section A, point 1", None)]),
    ("Section A of Annex I", [("Annex I, Section A", None)]),
    ("point 1 of Section A of Annex I", [("Annex I, Section A, point 1", None)]),
    ("Annex XI, point 3.1", [("Annex XI, point 3.1", None)]),
    # Typography pasted from PDFs and web pages
    ("Art.\u00a05\u00a0AIA", [("Article 5", "eu-ai-act")]),
    ("Articles 5\u20137", [("Article 5", None)]),  # ranges are not expanded; the en dash breaks nothing
]

DOCUMENTS = [
    ("Article 6(1)(a) GDPR", [("Article 6(1)(a)", "gdpr")]),
    ("GDPR Art. 22", [("Article 22", "gdpr")]),
    ("the GDPR's Article 22", [("Article 22", "gdpr")]),
    ("Article 22 (GDPR)", [("Article 22", "gdpr")]),
    ("Article 5 of the AI Act", [("Article 5", "eu-ai-act")]),
    ("article 5 of the ai act", [("Article 5", "eu-ai-act")]),
    ("Article 5 of Regulation (EU) 2024/1689", [("Article 5", "eu-ai-act")]),
    ("Recital 47 of Regulation (EU) 2016/679", [("Recital 47", "gdpr")]),
    ("Annex III of the Artificial Intelligence Act", [("Annex III", "eu-ai-act")]),
    ("Under the General Data Protection Regulation, what does Article 6 allow?", [("Article 6", "gdpr")]),
    ("Art. 6(1)(f) and Recital 47 GDPR", [("Article 6(1)(f)", "gdpr"), ("Recital 47", "gdpr")]),
    ("Article 22 GDPR and Article 14 AI Act", [("Article 22", "gdpr"), ("Article 14", "eu-ai-act")]),
    ("GDPR Art. 22 and AI Act Art. 14", [("Article 22", "gdpr"), ("Article 14", "eu-ai-act")]),
    ("Compare Article 22 and Article 14 AI Act with the GDPR",
     [("Article 22", "eu-ai-act"), ("Article 14", "eu-ai-act")]),
    ("In the AIA, Article 5; in the GDPR, Article 9", [("Article 5", "eu-ai-act"), ("Article 9", "gdpr")]),
    ("What is Article 5 in the AIAs?", [("Article 5", None)]),  # aliases match whole words only
    ("GDPR art. 9(2)(a) and AI Act art. 10(5)", [("Article 9(2)(a)", "gdpr"), ("Article 10(5)", "eu-ai-act")]),
    ("Article 5 of the AI Act, point 4 of Annex III",
     [("Article 5", "eu-ai-act"), ("Annex III, point 4", "eu-ai-act")]),
]

LISTS = [
    ("Arts. 5 and 6", [("Article 5", None), ("Article 6", None)]),
    ("Articles 5, 6 and 7 of the AI Act",
     [("Article 5", "eu-ai-act"), ("Article 6", "eu-ai-act"), ("Article 7", "eu-ai-act")]),
    ("Articles 5(1) or 6(2)", [("Article 5(1)", None), ("Article 6(2)", None)]),
    ("Article 5(1)(a) and (b)", [("Article 5(1)(a)", None), ("Article 5(1)(b)", None)]),
    ("Article 6(1)(a), (b) or (f)", [("Article 6(1)(a)", None), ("Article 6(1)(b)", None), ("Article 6(1)(f)", None)]),
    ("Recitals 47 and 48", [("Recital 47", None), ("Recital 48", None)]),
    ("recitals (47) & (48)", [("Recital 47", None), ("Recital 48", None)]),
    ("Annexes I and III", [("Annex I", None), ("Annex III", None)]),
    ("Annex III, point 1(a) and (b)", [("Annex III, point 1(a)", None), ("Annex III, point 1(b)", None)]),
    ("Article 5 and Recital 4 and Annex III",
     [("Article 5", None), ("Recital 4", None), ("Annex III", None)]),
    ("Is Article 5(1)(f) in line with Recital 44?", [("Article 5(1)(f)", None), ("Recital 44", None)]),
]

NOT_REFERENCES = [
    "the 5 articles",
    "article about AI",
    "annex",
    "what does the annex say?",
    "in 2016",
    "42",
    "§ 5",
    "Regulation (EU) 2016/679",
    "the Artificial Intelligence Act",
    "an artist's view of art",
    "Article 2016",
    "civil annex civil law",
    "What is the point of the AI Act?",
    "",
]


@pytest.mark.parametrize(("query", "expected"), FORMS + DOCUMENTS + LISTS, ids=lambda value: str(value))
def test_references_come_out_as_passage_locators(query, expected):
    assert found(query) == expected


@pytest.mark.parametrize("query", NOT_REFERENCES)
def test_text_that_names_no_provision_gives_nothing(query):
    assert find_references(query, ALIASES) == []


@pytest.mark.parametrize(("query", "expected"), [
    ("Annex III and I think it applies", [("Annex III", None)]),  # "I" is not a second annex
    ("Article 5 (EU) rules", [("Article 5", None)]),  # "(EU)" is not a point
    ("What is the point of Article 5?", [("Article 5", None)]),
    ("Article 5.1", [("Article 5", None)]),
])
def test_words_around_a_reference_do_not_change_it(query, expected):
    assert found(query) == expected


@pytest.mark.parametrize(("query", "spans"), [
    ("Article 5", [(0, 9)]),
    ("What does Art. 6(1)(a) GDPR require?", [(10, 22)]),
    ("Arts. 5 and 6", [(0, 7), (12, 13)]),
    ("point 4 of Annex III", [(0, 20)]),
    ("Recital 47 and Annex III, point 4", [(0, 10), (15, 33)]),
    ("Art.\u00a05", [(0, 6)]),
])
def test_spans_point_at_the_reference_in_the_query(query, spans):
    references = find_references(query, ALIASES)
    assert [reference.span for reference in references] == spans


def test_a_reference_is_a_value():
    reference = find_references("GDPR Art. 22", ALIASES)[0]
    assert reference == Reference(locator="Article 22", doc_id="gdpr", span=(5, 12))
    assert "GDPR Art. 22"[slice(*reference.span)] == "Art. 22"


def test_without_aliases_no_document_is_named():
    assert [(r.locator, r.doc_id) for r in find_references("Article 22 GDPR", {})] == [("Article 22", None)]


def test_longest_alias_wins():
    aliases = {"Act": "some-act", "AI Act": "eu-ai-act"}
    assert [r.doc_id for r in find_references("Article 5 AI Act", aliases)] == ["eu-ai-act"]


@pytest.mark.parametrize(("locator", "chain"), [
    ("Article 5(1)(f)", ["Article 5(1)(f)", "Article 5(1)", "Article 5"]),
    ("Article 5(1)(h)(i)", ["Article 5(1)(h)(i)", "Article 5(1)(h)", "Article 5(1)", "Article 5"]),
    ("Article 3(39)", ["Article 3(39)", "Article 3"]),
    ("Article 5", ["Article 5"]),
    ("Annex III, point 1(a)", ["Annex III, point 1(a)", "Annex III, point 1", "Annex III"]),
    ("Annex III, point 4", ["Annex III, point 4", "Annex III"]),
    ("Annex I, Section A, point 1", ["Annex I, Section A, point 1", "Annex I, Section A", "Annex I"]),
    ("Annex VIII, Section B", ["Annex VIII, Section B", "Annex VIII"]),
    ("Annex I, Section A, point (a)", ["Annex I, Section A, point (a)", "Annex I, Section A", "Annex I"]),
    ("Annex XI, point 3.1", ["Annex XI, point 3.1", "Annex XI, point 3", "Annex XI"]),
    ("Recital 4", ["Recital 4"]),
    ("Preamble", ["Preamble"]),
])
def test_parent_locators_go_from_most_to_least_specific(locator, chain):
    assert parent_locators(locator) == chain


@pytest.mark.parametrize("query", ["Article 6(1)(a)", "Annex III, point 1(a)", "Annex I, Section A, point 1",
                                   "Recital 47", "Article 3(39)"])
def test_a_locator_reads_back_as_itself(query):
    assert found(query) == [(query, None)]


# Policy documents cut along their own numbering (guidelines, executive orders, memoranda, codes,
# frameworks): the forms people write, as the PDF parser spells the locators.
POLICY_ALIASES = {
    "prohibited practices guidelines": "ec-guidelines-prohibited-ai-practices",
    "EO 14110": "us-eo-14110",
    "Executive Order 14110": "us-eo-14110",
    "GPAI code": "gpai-code-of-practice-copyright",
    "OECD": "oecd-ai-recommendation",
    "M-24-10": "omb-m-24-10",
    "AI RMF": "nist-ai-rmf",
    "Llama 3.1 license": "llama-3-1-community-license",
}


def found_in_policy(query: str) -> list[tuple[str, str | None]]:
    return [(reference.locator, reference.doc_id) for reference in find_references(query, POLICY_ALIASES)]


POLICY_FORMS = [
    # Numbered paragraphs of guidelines and white papers
    ("paragraph 17", [("paragraph 17", None)]),
    ("para. 17", [("paragraph 17", None)]),
    ("paragraph (17)", [("paragraph 17", None)]),
    ("paragraphs 17 and 18", [("paragraph 17", None), ("paragraph 18", None)]),
    ("paragraph 17 of the prohibited practices guidelines",
     [("paragraph 17", "ec-guidelines-prohibited-ai-practices")]),
    # Sections: the executive order's "Sec.", everyone else's "Section", as written
    ("Sec. 4.2", [("Sec. 4.2", None)]),
    ("sec 4.2(a)(i)", [("Sec. 4.2(a)(i)", None)]),
    ("Sec. 4.2 EO 14110", [("Sec. 4.2", "us-eo-14110")]),
    ("Section 4.2 (a) of Executive Order 14110", [("Section 4.2(a)", "us-eo-14110")]),
    ("Section 3(b)(ii)", [("Section 3(b)(ii)", None)]),
    ("section 5(c)(iv) and (v) of M-24-10", [("Section 5(c)(iv)", "omb-m-24-10"), ("Section 5(c)(v)", "omb-m-24-10")]),
    ("Sections 3.1 and 3.2 of the AI RMF", [("Section 3.1", "nist-ai-rmf"), ("Section 3.2", "nist-ai-rmf")]),
    ("Section 1(b) of the Llama 3.1 license", [("Section 1(b)", "llama-3-1-community-license")]),
    ("Section 2 of the Llama 3.1 license", [("Section 2", "llama-3-1-community-license")]),
    # Appendices
    ("Appendix I of M-24-10", [("Appendix I", "omb-m-24-10")]),
    ("appendix b of the AI RMF", [("Appendix B", "nist-ai-rmf")]),
    ("Appendices A and B", [("Appendix A", None), ("Appendix B", None)]),
    # The GPAI code of practice
    ("Commitment 1", [("Commitment 1", None)]),
    ("Measure 1.3 of the GPAI code", [("Measure 1.3", "gpai-code-of-practice-copyright")]),
    ("measures 1.2 and 1.3", [("Measure 1.2", None), ("Measure 1.3", None)]),
    ("Recital (a) of the GPAI code", [("Recital (a)", "gpai-code-of-practice-copyright")]),
    # NIST: AI RMF subcategories and the Generative AI Profile's action ids
    ("GOVERN 1.1", [("GOVERN 1.1", None)]),
    ("govern 1.1", [("GOVERN 1.1", None)]),
    ("MAP 5.1 and MANAGE 4.3 of the AI RMF", [("MAP 5.1", "nist-ai-rmf"), ("MANAGE 4.3", "nist-ai-rmf")]),
    ("MEASURE 2.7", [("MEASURE 2.7", None)]),  # capitals: NIST's function, not a GPAI measure
    ("GV-1.1-001", [("GV-1.1-001", None)]),
    ("What does ms-2.5-003 ask for?", [("MS-2.5-003", None)]),
    # The OECD's principles and recommendations
    ("principle 1.3 OECD", [("Principle 1.3", "oecd-ai-recommendation")]),
    ("Recommendation 2.1 of the OECD", [("Recommendation 2.1", "oecd-ai-recommendation")]),
    # Mixed with EUR-Lex references, in order of appearance
    ("GV-1.1-001 and Article 9 AI Act", [("GV-1.1-001", None), ("Article 9", None)]),
]

POLICY_NOT_REFERENCES = [
    "the measure of success",
    "principles of fairness",
    "a commitment to openness",
    "how to govern AI",
    "the map of Europe",
    "in this section",
    "Section A",  # an annex's section names its annex
    "Recommendation of the Council",
    "Section 230",
    "GV-1.1",
    "AGV-1.1-001",
]


@pytest.mark.parametrize(("query", "expected"), POLICY_FORMS, ids=lambda value: str(value))
def test_policy_references_come_out_as_passage_locators(query, expected):
    assert found_in_policy(query) == expected


@pytest.mark.parametrize("query", POLICY_NOT_REFERENCES)
def test_policy_words_without_a_number_name_nothing(query):
    assert find_references(query, POLICY_ALIASES) == []


@pytest.mark.parametrize(("query", "expected"), [
    ("paragraph 1 of Article 6", [("Article 6(1)", None)]),  # still part of the article
    ("Section A of Annex I", [("Annex I, Section A", None)]),
    ("Article 6 paragraph 1", [("Article 6(1)", None)]),
])
def test_a_paragraph_or_section_of_an_eu_provision_stays_part_of_it(query, expected):
    assert found_in_policy(query) == expected


@pytest.mark.parametrize(("locator", "chain"), [
    ("Sec. 4.2(a)(i)", ["Sec. 4.2(a)(i)", "Section 4.2(a)(i)", "Sec. 4.2(a)", "Section 4.2(a)",
                        "Sec. 4.2", "Section 4.2", "Sec. 4", "Section 4"]),
    ("Section 3(b)(ii)", ["Section 3(b)(ii)", "Sec. 3(b)(ii)", "Section 3(b)", "Sec. 3(b)", "Section 3", "Sec. 3"]),
    ("Measure 1.3", ["Measure 1.3", "Commitment 1"]),
    ("GV-1.1-001", ["GV-1.1-001", "GOVERN 1.1"]),
    ("MS-2.5-003", ["MS-2.5-003", "MEASURE 2.5"]),
    ("paragraph 17", ["paragraph 17"]),
    ("Principle 1.3", ["Principle 1.3"]),
    ("Appendix I", ["Appendix I"]),
])
def test_policy_parent_locators_step_up_and_try_both_spellings(locator, chain):
    assert parent_locators(locator) == chain


@pytest.mark.parametrize("locator", ["paragraph 17", "Sec. 4.2(a)(i)", "Section 3(b)(ii)", "Commitment 1",
                                     "Measure 1.3", "Recital (a)", "Section 3.1", "GOVERN 1.1", "Appendix B",
                                     "Section 2.2", "GV-1.1-001", "Principle 1.3", "Recommendation 2.1",
                                     "Section 1(b)", "Section 1(b)(i)"])
def test_a_policy_locator_reads_back_as_itself(locator):
    assert found_in_policy(locator) == [(locator, None)]


@pytest.mark.parametrize(("query", "expected"), [
    ("paragraph 17 of the prohibited practices guidelines", ("paragraph 17", "ec-guidelines-prohibited-ai-practices")),
    ("Sec. 4.2 EO 14110", ("Sec. 4.2", "us-eo-14110")),
    ("Measure 1.3 of the GPAI code", ("Measure 1.3", "gpai-code-of-practice-copyright")),
    ("GOVERN 1.1 of the AI RMF", ("GOVERN 1.1", "nist-ai-rmf")),
    ("GV-1.1-001 in the Generative AI Profile", ("GV-1.1-001", "nist-ai-600-1")),
    ("principle 1.3 OECD", ("Principle 1.3", "oecd-ai-recommendation")),
    ("Appendix I of M-24-10", ("Appendix I", "omb-m-24-10")),
    ("Section 2 of the Llama 4 licence", ("Section 2", "llama-4-community-license")),
    ("paragraph 45 of the UK AI white paper", ("paragraph 45", "uk-ai-white-paper-2023")),
    ("Article 22 GDPR", ("Article 22", "gdpr")),
])
def test_the_registry_names_documents_as_people_do(query, expected):
    """With the names search derives from titles and publishers plus the registry's aliases."""
    from pathlib import Path

    from ingest.sources import load_registry, registry_aliases
    from kb.search import document_aliases

    sources = load_registry(Path(__file__).resolve().parent.parent / "corpus" / "sources.toml")
    documents = [{"doc_id": s.id, "title": s.title, "issuer": s.issuer} for s in sources]
    aliases = document_aliases(documents) | registry_aliases(sources)
    assert [(r.locator, r.doc_id) for r in find_references(query, aliases)] == [expected]
