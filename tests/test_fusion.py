"""Reciprocal rank fusion, document filters and document names, as pure functions."""

from kb.search import (
    SearchFilters,
    agreement,
    document_aliases,
    explained_first,
    fuse,
    lexically_reranked,
    named_documents,
)

DOCS = [{"doc_id": "a", "jurisdiction": "EU", "issuer": "European Union", "doc_type": "regulation",
         "date": "2024-06-13"},
        {"doc_id": "b", "jurisdiction": "US", "issuer": "NIST", "doc_type": "framework", "date": "2023-01-26"},
        {"doc_id": "c", "jurisdiction": "EU", "issuer": "European Union", "doc_type": "regulation", "date": ""}]


def test_agreement_between_retrievers_beats_one_strong_vote():
    fused = fuse([[("x", 0.9), ("y", 0.8)], [("y", 12.0), ("z", 3.0)]], [1.0, 1.0], rrf_k=10)
    assert max(fused, key=fused.get) == "y"
    assert fused["y"] < 1.0 and fuse([[("x", 1)], [("x", 1)]], [1, 1], 10)["x"] == 1.0


def test_weights_decide_between_retrievers():
    rankings = [[("dense", 0.9)], [("keyword", 9.0)]]
    assert max(fuse(rankings, [1.0, 0.5], 10).items(), key=lambda i: i[1])[0] == "dense"
    assert max(fuse(rankings, [0.5, 1.0], 10).items(), key=lambda i: i[1])[0] == "keyword"


def test_a_recital_brings_the_provision_it_explains_just_above_itself():
    scores = {"recital 44": 0.8, "article 9": 0.5, "article 5(1)(f)": 0.1, "article 4": 0.9}
    boosted = explained_first(scores, {"recital 44": "article 5(1)(f)"}, weight=1.1)
    ranked = sorted(boosted, key=boosted.get, reverse=True)
    assert ranked.index("article 5(1)(f)") == ranked.index("recital 44") - 1
    assert boosted["article 9"] == 0.5 and boosted["article 4"] == 0.9
    # A provision that scores better on its own keeps its score; below 1 it follows its recital.
    assert explained_first({"r": 0.2, "p": 0.7}, {"r": "p"}, 1.1)["p"] == 0.7
    assert explained_first({"r": 0.5}, {"r": "p"}, 0.9)["p"] < 0.5


def test_filters_combine_and_undated_documents_fail_date_filters():
    assert SearchFilters(jurisdiction="eu").allowed(DOCS) == {"a", "c"}
    assert SearchFilters(issuer="nist").allowed(DOCS) == {"b"}
    assert SearchFilters(jurisdiction="EU", since="2024-01-01").allowed(DOCS) == {"a"}
    assert SearchFilters(until="2023-12-31").allowed(DOCS) == {"b"}
    assert SearchFilters(doc_ids=("a", "b"), doc_type="framework").allowed(DOCS) == {"b"}


TITLED = [
    {"doc_id": "eu-ai-act", "title": "Regulation (EU) 2024/1689 laying down harmonised rules on "
     "artificial intelligence (Artificial Intelligence Act)", "issuer": "European Union"},
    {"doc_id": "gdpr", "title": "Regulation (EU) 2016/679 on the protection of personal data "
     "(General Data Protection Regulation)", "issuer": "European Union"},
    {"doc_id": "rmf", "title": "AI Risk Management Framework", "issuer":
     "National Institute of Standards and Technology (NIST), U.S. Department of Commerce"},
    {"doc_id": "tools", "title": "Safety tools", "issuer": "ROOST"},
    {"doc_id": "community", "title": "ROOST (Robust Open Online Safety Tools) community", "issuer": "ROOST"},
]


def test_a_query_names_documents_by_title_acronym_number_or_publisher():
    assert named_documents("Does the GDPR apply to a shop in France?", TITLED) == {"gdpr"}
    assert named_documents("what does the ai act say", TITLED) == {"eu-ai-act"}
    assert named_documents("Regulation 2016/679 and consent", TITLED) == {"gdpr"}
    assert named_documents("According to NIST, who measures risk?", TITLED) == {"rmf"}
    # A publisher's name names all of its documents; "(EU)" in a title names none.
    assert named_documents("the European Union rules", TITLED) == {"eu-ai-act", "gdpr"}
    assert named_documents("ROOST tools", TITLED) == {"tools", "community"}
    assert named_documents("Is this allowed in the EU?", TITLED) == set()
    assert named_documents("What do the rules say about nistagmus?", TITLED) == set()


def test_only_a_name_of_one_document_is_an_alias_for_references():
    aliases = document_aliases(TITLED)
    assert aliases["GDPR"] == "gdpr" and aliases["AI Act"] == "eu-ai-act"
    assert "EU" not in aliases and "ROOST" not in aliases and "European Union" not in aliases


def test_agreement_is_the_share_of_top_passages_both_rankings_hold():
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6)]
    assert agreement(dense, list(reversed(dense)), 4) == 1.0
    assert agreement(dense, [("x", 9.0), ("y", 8.0)], 4) == 0.0
    assert agreement(dense, [("b", 9.0), ("x", 8.0), ("a", 7.0), ("y", 6.0)], 4) == 0.5
    assert agreement(dense, [("d", 9.0)], 2) == 0.0  # only the top `depth` of each count


def test_keyword_scores_reorder_the_fused_candidates_in_proportion_to_the_weight():
    fused = {"close in meaning": 1.0, "exact words": 0.8, "beyond the candidates": 0.5}
    keyword = {"close in meaning": 2.0, "exact words": 10.0}
    light = lexically_reranked(fused, keyword, weight=0.1)
    assert max(light, key=light.get) == "close in meaning"
    heavy = lexically_reranked(fused, keyword, weight=1.0)
    assert max(heavy, key=heavy.get) == "exact words"
    assert heavy["exact words"] == 1.8 and heavy["beyond the candidates"] == 0.5
    assert lexically_reranked(fused, keyword, weight=0.0) == fused
    assert lexically_reranked(fused, {"close in meaning": 0.0}, weight=1.0) == fused


def test_the_reranking_weight_grows_with_agreement_and_with_long_queries():
    from kb.config import Settings
    from kb.search import rerank_weight

    settings = Settings(rerank_weight=2.0, rerank_length_weight=0.5, rerank_full_length=20)
    assert rerank_weight(settings, 0.0, 0) == 0.0
    assert rerank_weight(settings, 0.5, 0) == 1.0
    assert rerank_weight(settings, 0.0, 10) == 0.125 and rerank_weight(settings, 0.0, 40) == 0.5
    assert rerank_weight(settings, 0.3, 20) > rerank_weight(settings, 0.3, 12) > rerank_weight(settings, 0.3, 6)
