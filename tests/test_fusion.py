"""Reciprocal rank fusion and document filters, as pure functions."""

from kb.search import SearchFilters, fuse

DOCS = [{"doc_id": "a", "jurisdiction": "EU", "issuer": "European Union", "doc_type": "regulation", "date": "2024-06-13"},
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


def test_filters_combine_and_undated_documents_fail_date_filters():
    assert SearchFilters(jurisdiction="eu").allowed(DOCS) == {"a", "c"}
    assert SearchFilters(issuer="nist").allowed(DOCS) == {"b"}
    assert SearchFilters(jurisdiction="EU", since="2024-01-01").allowed(DOCS) == {"a"}
    assert SearchFilters(until="2023-12-31").allowed(DOCS) == {"b"}
    assert SearchFilters(doc_ids=("a", "b"), doc_type="framework").allowed(DOCS) == {"b"}
