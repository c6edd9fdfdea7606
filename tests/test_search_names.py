"""A document's name in a query is the named-document preference's business; with
name_meaning_weight below 1 the meaning searched weighs the rest of the query more
(kb.search.query_embedding)."""

import numpy as np

from kb.api import KnowledgeBase
from kb.search import document_names, query_embedding, without_document_names

NAMES = ["GDPR", "AI Act", "Llama 3.1", "Llama 3.1 Community License", "NIST"]


def test_document_names_are_taken_out_of_the_query_as_whole_words():
    assert without_document_names("Does the GDPR apply to a US shop?", NAMES) == "Does the apply to a US shop?"
    assert without_document_names("Under the llama 3.1 community license, which courts?", NAMES) == (
        "Under the , which courts?")
    assert without_document_names("GDPRS and NISTs are not names", NAMES) == "GDPRS and NISTs are not names"


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64)
    return vector / np.linalg.norm(vector)


def test_the_meaning_of_a_query_naming_a_document_is_the_mean_with_and_without_the_name(small_home, embedder):
    with KnowledgeBase.open(small_home, embedder=embedder, sources_file=small_home / "sources.toml") as kb:
        store = kb._store
        default = store.settings
        store.settings = default.model_copy(update={"name_meaning_weight": 0.5})
        names = document_names(store.catalogue.documents())
        assert "Widget Act" in names
        query = "Which practices does the Widget Act prohibit at work?"
        without = without_document_names(query, names)
        assert without == "Which practices does the prohibit at work?"
        mixed = unit(query_embedding(store, embedder, query))
        expected = unit(unit(embedder.embed_query(query)) * 0.5 + unit(embedder.embed_query(without)) * 0.5)
        assert np.allclose(mixed, expected, atol=1e-5)
        # No name, or too little left without it: the query as it is.
        plain = "Which practices are prohibited at work?"
        assert np.allclose(query_embedding(store, embedder, plain), embedder.embed_query(plain), atol=1e-6)
        assert np.allclose(query_embedding(store, embedder, "the Widget Act"), embedder.embed_query("the Widget Act"),
                           atol=1e-6)
        # The default: the query as it is (the names' half weight is measured, not in force).
        store.settings = default
        assert default.name_meaning_weight == 1.0
        assert np.allclose(query_embedding(store, embedder, query), embedder.embed_query(query), atol=1e-6)
