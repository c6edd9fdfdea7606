"""The catalogue keeps each document version's facts and shows only the live version's.

Real SQLite in tmp_path, real passages of the AI Act and the GDPR (no vectors: the catalogue is
the part under test); the hook in the ingest pipeline is checked on the small store.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ingest.chunk import chunk
from ingest.facts import extract_facts
from ingest.parse import parse
from ingest.sources import load_registry
from kb.catalogue import Catalogue
from kb.config import load_settings
from tests.conftest import REPO, corpus_document, go_live


@pytest.fixture
def catalogue(tmp_path, acts):
    catalogue = Catalogue(tmp_path / "catalogue.sqlite3")
    go_live(catalogue, acts, "eu-ai-act", "v1")
    yield catalogue
    catalogue.close()


def test_definition_of_a_term_in_any_spelling(catalogue):
    found = catalogue.facts.definitions_of("Deep Fakes")
    assert [(d.passage_id, d.locator) for d in found] == [("eu-ai-act:article-3-60", "Article 3(60)")]
    assert catalogue.facts.definitions_of("no such term") == []
    index = catalogue.facts.defined_terms(["eu-ai-act"])
    assert len(index) == 68 and "general-purpose ai model" in index


def test_refers_to_and_referred_by_within_the_act(catalogue):
    targets = {r.target_passage_id for r in catalogue.facts.refers_to("eu-ai-act:article-50-6")}
    assert {f"eu-ai-act:article-50-{n}" for n in range(1, 5)} <= targets
    sources = {r.passage_id for r in catalogue.facts.referred_by("eu-ai-act:article-50-1")}
    assert "eu-ai-act:article-50-6" in sources


def test_references_to_another_act_resolve_once_it_is_ingested(catalogue, acts):
    before = next(r for r in catalogue.facts.refers_to("eu-ai-act:article-3-50") if r.act == "reg:2016/679")
    assert before.target_passage_id == "" and before.external_url.endswith("CELEX:32016R0679")
    go_live(catalogue, acts, "gdpr", "g1")
    after = next(r for r in catalogue.facts.refers_to("eu-ai-act:article-3-50") if r.act == "reg:2016/679")
    assert after.target_locator == "Article 4(1)" and after.target_passage_id == "gdpr:article-4-1"
    assert "eu-ai-act:article-3-50" in {r.passage_id for r in catalogue.facts.referred_by("gdpr:article-4-1")}


def test_applies_from_of_passages(catalogue, acts):
    go_live(catalogue, acts, "gdpr", "g1")
    dates = catalogue.facts.applies_from(["eu-ai-act:article-5-1-a", "eu-ai-act:article-101-1",
                                          "gdpr:article-17-1", "eu-ai-act:recital-29"])
    assert {pid: d.applies_from for pid, d in dates.items()} == {
        "eu-ai-act:article-5-1-a": "2025-02-02", "eu-ai-act:article-101-1": "2026-08-02",
        "gdpr:article-17-1": "2018-05-25"}


def test_a_replaced_version_takes_its_facts_with_it(catalogue, acts):
    _, _, passages = acts["eu-ai-act"]
    without_deep_fake = [p for p in passages if p.locator != "Article 3(60)"]
    # Facts of a version not yet live (or whose ingest crashed) are not seen ...
    catalogue.facts.put("eu-ai-act", "v2", extract_facts(without_deep_fake, acts["eu-ai-act"][0]))
    assert catalogue.facts.definitions_of("deep fake")
    # ... and the switch replaces the old version's facts with the new one's.
    catalogue.switch_version(acts["eu-ai-act"][0], acts["eu-ai-act"][1], "v2", "eurlex",
                             without_deep_fake, "test-model", {})
    assert catalogue.facts.definitions_of("deep fake") == []
    assert len(catalogue.facts.defined_terms()) == 67
    versions = {row[0] for row in catalogue.db.execute("SELECT DISTINCT version FROM definitions")}
    assert versions == {"v2"}
    catalogue.remove_document("eu-ai-act")
    assert catalogue.facts.defined_terms() == {} and catalogue.facts.applies_from(["eu-ai-act:article-5-1-a"]) == {}


def test_document_status_from_the_registry(catalogue, acts):
    _, fetched, passages = acts["gdpr"]
    revoked = replace(acts["gdpr"][0], title="A revoked act")
    facts = extract_facts(passages, revoked)
    facts.status, facts.status_note = "revoked", "Revoked by a later act"
    catalogue.facts.put("gdpr", "g2", facts)
    catalogue.switch_version(revoked, fetched, "g2", "eurlex", passages, "test-model", {})
    assert catalogue.facts.status(["gdpr", "eu-ai-act"]) == {"gdpr": ("revoked", "Revoked by a later act")}


def test_ingest_keeps_the_facts_of_what_it_adds(small_home):
    catalogue = Catalogue(small_home / "catalogue.sqlite3")
    try:
        assert [d.locator for d in catalogue.facts.definitions_of("widgets")] != []
    finally:
        catalogue.close()


def test_guidance_citing_a_provision_is_among_what_refers_to_it(catalogue, shared_corpus, manifest, embedder):
    from ingest.sources import registry_aliases

    sources = load_registry(REPO / "corpus" / "sources.toml")
    source = next(s for s in sources if s.id == "ec-guidelines-prohibited-ai-practices")
    fetched = corpus_document(shared_corpus, manifest, source.id)
    budget = load_settings(home=REPO / ".kb-home-unused").max_passage_tokens
    passages = chunk(parse(fetched, hint=source.parser), source, embedder.count_tokens, budget)
    facts = extract_facts(passages, source, registry_aliases(sources))
    catalogue.facts.put(source.id, "c1", facts)
    catalogue.switch_version(source, fetched, "c1", "pdf", passages, "test-model", {})
    citing = {r.passage_id.split(":")[0] for r in catalogue.facts.referred_by("eu-ai-act:article-5-1-f")}
    assert "ec-guidelines-prohibited-ai-practices" in citing
    citing_passage = next(r.passage_id for r in facts.references if r.act == "doc:eu-ai-act")
    target = next(r for r in catalogue.facts.refers_to(citing_passage) if r.act == "doc:eu-ai-act")
    assert target.target_passage_id.startswith("eu-ai-act:")
    # When only guidance is quoted, the provision it cites leads the answer; Article 5 as its list.
    from kb.compose import compose_quotes

    citing_article_5 = next(p for p in passages if any(
        r.passage_id == p.passage_id and r.act == "doc:eu-ai-act" and r.target_locator == "Article 5"
        for r in facts.references))
    quotes = compose_quotes(catalogue, [(citing_article_5, citing_article_5.text)])
    assert [q.passage.locator for q in quotes[:9]] == ["Article 5(1)", *(f"Article 5(1)({x})" for x in "abcdefgh")]
    assert quotes[0].text == "1. The following AI practices shall be prohibited:"
    assert quotes[-1].passage.passage_id == citing_article_5.passage_id
