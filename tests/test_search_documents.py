"""Document-level evidence: a passage of the document most of the best candidates come from beats
an equally good passage of a document that matched once; on a real store with the real model."""

import pytest

from kb.api import KnowledgeBase
from kb.search import SearchFilters
from kb.search_documents import document_shares

# A rulebook on drone registration, and a survey report that mentions the rule once, in words about
# as close to the question as the rule's.
RULES = """## 1

Every drone heavier than 250 grams must be registered with the aviation authority before its first flight.

## 2

The registration of a drone is renewed every five years; the aviation authority keeps the register of drones.

## 3

A pilot who flies an unregistered drone heavier than 250 grams may be fined by the aviation authority.
"""
REPORT = """## 1

Most hobby pilots we asked did not know that a drone over 250 grams has to be registered before its first outing.

## 2

Battery fires were the most common cause of the incidents the survey recorded in 2023.
"""
QUESTION = "Do I have to register my drone before I fly it for the first time?"
ON = {"document_evidence_weight": 0.2}  # the weight measured on bench/questions.jsonl


def rules_and_report(home, embedder, report: str) -> KnowledgeBase:
    """A data directory holding the rulebook and the given report, opened."""
    home.mkdir()
    registry = home / "sources.toml"
    registry.write_text("", encoding="utf-8")
    for name, text in (("rules.md", RULES), ("report.md", report)):
        (home / name).write_text(text, encoding="utf-8")
    opened = KnowledgeBase.open(home, embedder=embedder, sources_file=registry)
    opened.add(str(home / "rules.md"), doc_id="drone-rules", title="Drone Rules")
    opened.add(str(home / "report.md"), doc_id="drone-survey", title="Survey of hobby pilots")
    return opened


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder):
    with rules_and_report(tmp_path_factory.mktemp("documents") / "kb-home", embedder, REPORT) as opened:
        yield opened


def places(results) -> list[str]:
    return [f"{hit.passage.doc_id} {hit.passage.locator}" for hit in results.hits]


def test_the_rule_of_the_document_most_candidates_come_from_gains_on_a_paraphrase_found_once(kb):
    def scored(results) -> dict[str, float]:
        return {f"{hit.passage.doc_id} {hit.passage.locator}": hit.score for hit in results.hits}

    plain = scored(kb.search(QUESTION, k=3, overrides={"document_evidence_weight": 0.0}))
    weighed = scored(kb.search(QUESTION, k=3, overrides=ON))
    assert list(weighed)[:2] == ["drone-rules 1", "drone-survey 1"]  # the paraphrase stays, second
    lead = weighed["drone-rules 1"] / weighed["drone-survey 1"]
    assert lead > plain["drone-rules 1"] / plain["drone-survey 1"] * 1.05


def test_a_clearly_better_passage_of_another_document_stays_first(tmp_path, embedder):
    # The survey now asks the question in the question's own words: far better than the rule.
    closer = REPORT.replace("Most hobby pilots", "Do I have to register my drone before I fly it? Most hobby pilots")
    with rules_and_report(tmp_path / "kb-home", embedder, closer) as opened:
        assert places(opened.search(QUESTION, k=3, overrides=ON))[0] == "drone-survey 1"


def test_document_evidence_leaves_the_order_within_one_document_alone(kb):
    filters = SearchFilters(doc_ids=("drone-rules",))
    plain = kb.search(QUESTION, k=3, filters=filters, overrides={"document_evidence_weight": 0.0})
    weighed = kb.search(QUESTION, k=3, filters=filters, overrides=ON)
    assert places(weighed) == places(plain)
    assert all(a.score > b.score for a, b in zip(weighed.hits, plain.hits, strict=True))  # all raised alike


def test_shares_count_only_the_best_candidates():
    scores = {"a:1@v": 0.5, "a:2@v": 0.3, "b:1@v": 0.2, "c:1@v": 0.1}
    assert document_shares(scores, 3) == pytest.approx({"a": 0.8, "b": 0.2})
    assert document_shares(scores, 1) == {"a": 1.0}
    assert document_shares({}, 10) == {}
