"""Numbered-clause references ("Rule 3.1.2", "section 5.3"): the passages citing them are preferred."""

import pytest

from kb.api import KnowledgeBase
from kb.search import cites, clause_numbers
from tests.search_fixtures import build_rulebook_home


def test_clause_numbers_are_read_from_the_query_but_not_percentages_or_versions():
    assert clause_numbers("Under Rule \u200e6.2.1(a)(i) and section 5.3, per GEN 3.3?") == ["6.2.1", "5.3", "3.3"]
    assert clause_numbers("A 2.5% buffer in version v1.2 of 2024") == []
    assert clause_numbers("Rules 18.5.1 and 18.5.1") == ["18.5.1"]


def test_a_number_in_a_document_name_is_not_a_clause():
    names = ["Llama 3.1", "Llama 3.1 Community License", "GDPR", "NIST AI 600-1"]
    assert clause_numbers("Which courts handle disputes under the Llama 3.1 license?", names) == []
    assert clause_numbers("Does section 4.2 of the llama 3.1 community license allow it?", names) == ["4.2"]
    # Without the name, or with a name that merely resembles it, the number is a clause.
    assert clause_numbers("Which courts handle disputes under 3.1?", names) == ["3.1"]
    assert clause_numbers("Is Llama 3.12 covered?", names) == ["3.12"]


def test_a_passage_cites_a_clause_or_its_subclauses_not_a_longer_number():
    assert cites("in accordance with Rules 18.5.1 and 18.5.2.", "18.5.1")
    assert cites("as required by 18.5.1(a)", "18.5.1") and cites("see Rule 18.5.1.(2)", "18.5.1")
    assert not cites("Rule 18.5.10 applies", "18.5.1") and not cites("Rule 18.5.1.4 applies", "18.5.1")
    assert not cites("Rule 118.5.1 applies", "18.5.1")


@pytest.fixture(scope="module")
def rulebook(tmp_path_factory, embedder):
    home = build_rulebook_home(tmp_path_factory.mktemp("clauses") / "kb-home", embedder)
    with KnowledgeBase.open(home, embedder=embedder, sources_file=home / "sources.toml") as kb:
        yield kb


def test_passages_citing_the_named_rule_rise_and_the_others_keep_their_scores(rulebook):
    kb = rulebook
    query = "What records does a Fund Manager have to keep about notifications under Rule 3.1.2?"
    # Document evidence off in both: it would spread the preferred passages' gain over their documents.
    preferred = kb.search(query, k=8, overrides={"document_evidence_weight": 0.0})
    plain = kb.search(query, k=8, overrides={"clause_citation_weight": 1.0, "document_evidence_weight": 0.0})
    before = {hit.passage.passage_id: hit.score for hit in plain.hits}
    citing = set()
    for hit in preferred.hits:
        ratio = hit.score / before[hit.passage.passage_id]
        if cites(hit.passage.text, "3.1.2"):
            citing.add(hit.passage.locator)
            assert ratio == pytest.approx(kb.settings.clause_citation_weight)
        else:
            assert ratio == pytest.approx(1.0)
    assert citing == {"3.1.3", "1.1"}  # the record-keeping rule and the guidance note cite it
    assert preferred.hits[0].passage.locator == "3.1.3"
