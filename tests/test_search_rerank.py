"""Lexical re-ranking of fused candidates, on a real store with the real model."""

import pytest

from kb.config import load_settings
from kb.evaluate import settings_applied
from kb.search import search
from kb.store import Store
from tests.search_fixtures import build_rulebook_home


@pytest.fixture(scope="module")
def rulebook_store(tmp_path_factory, embedder):
    home = build_rulebook_home(tmp_path_factory.mktemp("rulebook") / "kb-home", embedder)
    store = Store(load_settings(home=home, sources_file=home / "sources.toml"))
    yield store
    store.close()


def test_keyword_scores_of_chosen_passages_match_the_index(rulebook_store):
    store = rulebook_store
    store.ensure_keyword_index()
    ids = store.keyword.saved_ids()
    query = "segregate client assets"
    scores = store.keyword.scores(query, [*ids, "gone:passage@old"])
    segregation = next(v for v in ids if v.startswith("fund-rules:4-2-1"))
    assert scores[segregation] == max(scores.values()) > 0
    assert scores["gone:passage@old"] == 0.0
    assert scores[next(v for v in ids if v.startswith("fund-rules:5-3"))] == 0.0
    # The same score the keyword ranking itself gives.
    assert abs(dict(store.keyword.search(query, 5))[segregation] - scores[segregation]) < 1e-6


def test_keyword_evidence_separates_clauses_that_mean_nearly_the_same(rulebook_store, embedder):
    store = rulebook_store
    query = "Within how many business days must a Fund Manager notify the Regulator of a change in its controllers?"
    reranked = search(store, embedder, query, k=3)
    with settings_applied(store, rerank_weight=0.0):
        fused = search(store, embedder, query, k=3)
    assert {h.passage.locator for h in reranked.hits} == {h.passage.locator for h in fused.hits}

    def margin(results):
        scores = {hit.passage.locator: hit.score for hit in results.hits}
        return scores["3.1.2"] - scores.get("3.1.1", 0.0)

    assert reranked.hits[0].passage.locator == "3.1.2"
    assert margin(reranked) > margin(fused)
