"""Lexical re-ranking of fused candidates, on a real store with the real model."""

import pytest

from kb.api import KnowledgeBase
from kb.errors import ConfigError
from kb.keyword import KeywordIndex
from tests.search_fixtures import build_rulebook_home


@pytest.fixture(scope="module")
def rulebook(tmp_path_factory, embedder):
    home = build_rulebook_home(tmp_path_factory.mktemp("rulebook") / "kb-home", embedder)
    with KnowledgeBase.open(home, embedder=embedder, sources_file=home / "sources.toml") as kb:
        yield kb


def test_keyword_scores_of_chosen_passages_match_the_index(rulebook):
    # Tests the keyword index itself (below the door on purpose): the one a search builds and reads.
    rulebook.search("warm-up", k=1)
    keyword = KeywordIndex(rulebook.home / "keyword")
    ids = keyword.saved_ids()
    query = "segregate client assets"
    scores = keyword.scores(query, [*ids, "gone:passage@old"])
    segregation = next(v for v in ids if v.startswith("fund-rules:4-2-1"))
    assert scores[segregation] == max(scores.values()) > 0
    assert scores["gone:passage@old"] == 0.0
    assert scores[next(v for v in ids if v.startswith("fund-rules:5-3"))] == 0.0
    # The same score the keyword ranking itself gives.
    assert abs(dict(keyword.search(query, 5))[segregation] - scores[segregation]) < 1e-6


def test_keyword_evidence_separates_clauses_that_mean_nearly_the_same(rulebook):
    query = "Within how many business days must a Fund Manager notify the Regulator of a change in its controllers?"
    reranked = rulebook.search(query, k=3)
    fused = rulebook.search(query, k=3, overrides={"rerank_weight": 0.0})
    assert {h.passage.locator for h in reranked.hits} == {h.passage.locator for h in fused.hits}

    def margin(results):
        scores = {hit.passage.locator: hit.score for hit in results.hits}
        return scores["3.1.2"] - scores.get("3.1.1", 0.0)

    assert reranked.hits[0].passage.locator == "3.1.2"
    assert margin(reranked) > margin(fused)
    # The override lasted for its search only, and a misspelt setting is refused, not ignored.
    assert rulebook.search(query, k=3).hits == reranked.hits
    with pytest.raises(ConfigError, match="not a setting: rerank_wieght"):
        rulebook.search(query, k=3, overrides={"rerank_wieght": 0.0})
