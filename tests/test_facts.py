"""Facts read from the real corpus at ingest: definitions, cross-references, dates of application.

The passages are those ingest makes (the real parser, the real tokenizer's budget); the tests skip
when ../shared/corpus is absent.
"""

from __future__ import annotations

import pytest

from ingest.chunk import chunk
from ingest.facts import extract_facts
from ingest.facts_references import passage_references
from ingest.parse import parse
from ingest.sources import load_registry
from kb.compose_terms import term_key, terms_in
from kb.config import load_settings
from kb.types import Source
from tests.conftest import REPO, corpus_document

# Documents that define terms in their own ways (a memo's glossary, a framework's prose, guidelines).
OTHER_WORDINGS = ("omb-m-24-10", "oecd-ai-recommendation", "nist-ai-rmf", "nist-ai-600-1",
                  "ec-guidelines-prohibited-ai-practices", "ec-guidelines-gpai-obligations")


@pytest.fixture(scope="module")
def corpus_facts(shared_corpus, manifest, embedder):
    """doc_id -> (passages, facts) for the documents these tests read."""
    registry = {source.id: source for source in load_registry(REPO / "corpus" / "sources.toml")}
    budget = load_settings(home=REPO / ".kb-home-unused").max_passage_tokens
    read = {}
    for doc_id in ("eu-ai-act", "gdpr", "us-eo-14110", *OTHER_WORDINGS):
        entry = manifest[doc_id]
        source = registry.get(doc_id) or Source(id=doc_id, title=entry.get("title", doc_id),
                                                canonical_url=entry["canonical_url"])
        document = parse(corpus_document(shared_corpus, manifest, doc_id), hint=source.parser)
        passages = chunk(document, source, embedder.count_tokens, budget)
        read[doc_id] = passages, extract_facts(passages, source)
    return read


def passage_at(passages, locator):
    """The first passage at or inside a locator."""
    return next(p for p in passages if p.locator == locator or p.locator.startswith(locator + "("))


# Definitions -------------------------------------------------------------------------------

def test_ai_act_defines_68_terms_in_article_3_and_gdpr_26_in_article_4(corpus_facts):
    ai_act = corpus_facts["eu-ai-act"][1].definitions
    gdpr = corpus_facts["gdpr"][1].definitions
    assert len(ai_act) == 68 and {d.locator for d in ai_act} == {f"Article 3({n})" for n in range(1, 69)}
    assert len(gdpr) == 26 and {d.locator for d in gdpr} == {f"Article 4({n})" for n in range(1, 27)}
    deep_fake = next(d for d in ai_act if d.term == "deep fake")
    assert deep_fake.locator == "Article 3(60)"
    assert deep_fake.text.startswith("(60) ‘deep fake’ means AI-generated or manipulated image")
    assert {"provider", "deployer", "AI system", "general-purpose AI model"} <= {d.term for d in ai_act}
    assert next(d for d in gdpr if d.term == "consent").locator == "Article 4(11)"


def test_executive_order_definitions_read_from_the_term_means_form(corpus_facts):
    definitions = {d.term: d for d in corpus_facts["us-eo-14110"][1].definitions}
    assert len(definitions) >= 30
    # "The term ‘‘artificial intelligence’’ or ‘‘AI’’ has the meaning ...": two terms, one definition.
    assert definitions["artificial intelligence"].text == definitions["AI"].text
    assert definitions["dual-use foundation model"].text.startswith("(k) The term ‘‘dual-use foundation model’’ means")
    assert "synthetic content" in definitions


def definitions_of(corpus_facts, doc_id):
    return {d.term: d for d in corpus_facts[doc_id][1].definitions}


def test_memorandum_glossary_entries_are_definitions(corpus_facts):
    """OMB M-24-10 Section 6: "Agency: The term “agency” has the meaning provided in ..." and
    "Rights-Impacting AI: The term “rights-impacting AI” refers to AI whose output ...", one block."""
    found = definitions_of(corpus_facts, "omb-m-24-10")
    assert len(found) >= 25
    assert found["agency"].text == "Agency: The term “agency” has the meaning provided in 44 U.S.C. § 3502(1)."
    assert found["rights-impacting AI"].text.startswith("Rights-Impacting AI: The term “rights-impacting AI” "
                                                        "refers to AI whose output serves as a principal basis")
    assert "Safety-Impacting AI:" not in found["rights-impacting AI"].text  # each runs to the next only
    assert all(d.locator.startswith("Section 6") for d in found.values())


def test_framework_and_recommendation_definitions_in_prose(corpus_facts):
    oecd = definitions_of(corpus_facts, "oecd-ai-recommendation")
    assert oecd["AI system"].text.startswith("AI system: An AI system is a machine-based system")
    assert {"AI knowledge", "AI actors"} <= set(oecd)
    rmf = definitions_of(corpus_facts, "nist-ai-rmf")
    assert rmf["risk"].text.startswith("In the context of the AI RMF, risk refers to the composite measure")
    assert {"Risk tolerance", "Accuracy", "Explainability"} <= set(rmf)
    assert definitions_of(corpus_facts, "nist-ai-600-1")["Confabulation"].text.startswith(
        "“Confabulation” refers to a phenomenon in which GAI systems generate")


def test_guidelines_define_terms_in_their_numbered_paragraphs(corpus_facts):
    prohibited = definitions_of(corpus_facts, "ec-guidelines-prohibited-ai-practices")
    assert prohibited["Unfavourable treatment"].locator == "paragraph 165"
    assert prohibited["Appreciable impairment"].text.startswith("(78) ‘Appreciable impairment’ refers to")
    assert {"Scraping", "Crowd control"} <= set(prohibited)
    gpai = definitions_of(corpus_facts, "ec-guidelines-gpai-obligations")
    assert gpai["training compute"].text.startswith("(118) In these guidelines, ‘training compute’")


def test_a_word_that_only_uses_a_term_defines_nothing(corpus_facts):
    """"This means that ...", "Article 5(1)(a) AI Act also refers to ...": uses, not definitions."""
    terms = {d.term.casefold() for doc_id in OTHER_WORDINGS for d in corpus_facts[doc_id][1].definitions}
    assert not terms & {"this", "it", "that", "article", "ai act"}
    assert not any(term[0].isdigit() or "(" in term for term in terms)


def test_term_index_matches_plural_and_case_variants(corpus_facts):
    keys = {term_key(d.term) for d in corpus_facts["eu-ai-act"][1].definitions}
    assert term_key("AI Systems") == term_key("AI system") == "ai system"
    assert term_key("Deep Fakes") == "deep fake" and term_key("authorities") == "authority"
    assert term_key("biometric data") == "biometric data" and term_key("access") == "access"
    text = "Providers of general-purpose AI models shall disclose that content is a deep fake."
    assert terms_in(text, keys) == ["provider", "general-purpose ai model", "deep fake"]


# Cross-references ----------------------------------------------------------------------------

@pytest.mark.parametrize("locator, words, target, act, target_locator", [
    ("Article 6(2)", "Annex III", "Annex III", "", "Annex III"),
    ("Article 5(1)", "Point (h) of the first subparagraph", "Article 5(1)(h)", "", "Article 5(1)(h)"),
    ("Article 5(3)", "paragraph 2", "Article 5(2)", "", "Article 5(2)"),
    ("Article 50(6)", "Paragraphs 1 to 4", "Article 50(4)", "", "Article 50(4)"),
    ("Article 3(50)", "Article 4, point (1), of Regulation (EU) 2016/679", None, "reg:2016/679", "Article 4(1)"),
    ("Article 5(1)", "Article 9 of Regulation (EU) 2016/679", None, "reg:2016/679", "Article 9"),
    ("Article 53(1)(c)", "Article 4(3) of Directive (EU) 2019/790", None, "dir:2019/790", "Article 4(3)"),
    ("Recital 105", "Directive (EU) 2019/790", None, "dir:2019/790", ""),
])
def test_ai_act_cross_references_and_what_they_resolve_to(corpus_facts, locator, words, target, act,
                                                        target_locator):
    passages, facts = corpus_facts["eu-ai-act"]
    source = passage_at(passages, locator)
    made = [r for r in facts.references if r.passage_id == source.passage_id and r.words == words
            and r.target_locator == target_locator]
    assert made, [(r.words, r.target_locator) for r in facts.references if r.passage_id == source.passage_id]
    reference = made[0]
    assert reference.act == act
    if target:
        assert reference.target_passage_id == passage_at(passages, target).passage_id
    else:
        assert reference.target_passage_id == "" and "eur-lex.europa.eu" in reference.external_url


def test_acts_named_by_number_get_their_celex_link():
    found = passage_references("as referred to in Directive 95/46/EC and in Regulation (EC) No 765/2008 "
                               "and Article 22 of Regulation (EU) 2016/679.", "Article 1")
    by_act = {r.act: r for r in found}
    assert by_act["dir:1995/46"].external_url.endswith("CELEX:31995L0046")
    assert by_act["reg:2008/765"].external_url.endswith("CELEX:32008R0765")
    assert by_act["reg:2016/679"].target_locator == "Article 22"


def test_a_document_naming_itself_refers_to_its_own_provisions():
    found = passage_references("Article 22 of Regulation (EU) 2016/679 and Articles 53 and 55 apply.",
                               "Article 1", self_act="reg:2016/679")
    assert [(r.act, r.target_locator) for r in found] == [("", "Article 22"), ("", "Article 53"),
                                                          ("", "Article 55")]


def test_most_ai_act_references_to_its_own_provisions_resolve(corpus_facts):
    own = [r for r in corpus_facts["eu-ai-act"][1].references if not r.act]
    unresolved = [r.words for r in own if not r.target_passage_id]
    assert len(own) > 500
    assert len(unresolved) <= len(own) * 0.02, unresolved


# Dates of application ------------------------------------------------------------------------

@pytest.mark.parametrize("doc_id, locator, applies_from, basis", [
    ("eu-ai-act", "Article 5", "2025-02-02", "Article 113(a)"),
    ("eu-ai-act", "Article 3", "2025-02-02", "Article 113(a)"),
    ("eu-ai-act", "Article 31", "2025-08-02", "Article 113(b)"),  # Chapter III Section 4
    ("eu-ai-act", "Article 53", "2025-08-02", "Article 113(b)"),
    ("eu-ai-act", "Article 78", "2025-08-02", "Article 113(b)"),
    ("eu-ai-act", "Article 99", "2025-08-02", "Article 113(b)"),
    ("eu-ai-act", "Article 101", "2026-08-02", "Article 113"),  # the exception to (b)
    ("eu-ai-act", "Article 50", "2026-08-02", "Article 113"),
    ("eu-ai-act", "Article 9", "2026-08-02", "Article 113"),  # Chapter III, Section 2
    ("eu-ai-act", "Article 6(1)", "2027-08-02", "Article 113(c)"),
    ("eu-ai-act", "Article 6(2)", "2026-08-02", "Article 113"),
    ("eu-ai-act", "Annex III", "2026-08-02", "Article 113"),
    ("gdpr", "Article 17", "2018-05-25", "Article 99(2)"),
])
def test_dates_of_application(corpus_facts, doc_id, locator, applies_from, basis):
    passages, facts = corpus_facts[doc_id]
    dates = {d.passage_id: d for d in facts.dates}
    covered = [p for p in passages if p.locator == locator or p.locator.startswith((locator + "(", locator + ","))]
    assert covered
    assert {(dates[p.passage_id].applies_from, dates[p.passage_id].basis) for p in covered} == {(applies_from, basis)}


def test_recitals_carry_no_date_and_a_document_without_a_schedule_none(corpus_facts):
    passages, facts = corpus_facts["eu-ai-act"]
    dated = {d.passage_id for d in facts.dates}
    assert not any(p.passage_id in dated for p in passages if p.kind == "recital")
    assert corpus_facts["us-eo-14110"][1].dates == []


def test_guidance_points_into_the_act_it_names(shared_corpus, manifest, embedder):
    """"Article 5(1)(a) AI Act" in the Commission's guidelines refers to the AI Act (through the
    registry's aliases); a name further away ("section 5" of an order near "AIA") does not."""
    from ingest.sources import registry_aliases

    sources = load_registry(REPO / "corpus" / "sources.toml")
    registry, aliases = {s.id: s for s in sources}, registry_aliases(sources)
    budget = load_settings(home=REPO / ".kb-home-unused").max_passage_tokens
    found = {}
    for doc_id in ("ec-guidelines-prohibited-ai-practices", "us-eo-14110"):
        source = registry[doc_id]
        document = parse(corpus_document(shared_corpus, manifest, doc_id), hint=source.parser)
        found[doc_id] = extract_facts(chunk(document, source, embedder.count_tokens, budget), source, aliases)
    into_act = {r.target_locator for r in found["ec-guidelines-prohibited-ai-practices"].references
                if r.act == "doc:eu-ai-act"}
    assert {f"Article 5(1)({letter})" for letter in "abcdefgh"} <= into_act
    assert not [r for r in found["us-eo-14110"].references if r.act.startswith("doc:")]
