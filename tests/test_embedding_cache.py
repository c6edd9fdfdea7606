"""The embedding cache: a changed document embeds only its changed passages, with the same vectors."""

import numpy as np
import pytest

from ingest.pipeline import Pipeline
from kb.store import Store
from kb.types import Source
from kb.verify import clause_texts, prepare_evidence
from tests.conftest import make_fetched

SOURCE = Source(id="drones", title="Drone rules", canonical_url="https://example.org/drones")
# Each section is long enough to be a passage of its own (the whole exceeds 200 word pieces).
DETAIL = " The authority publishes the forms, the fees and the deadlines on its website every year." * 4
SECTIONS = {
    "Registration": "Every drone heavier than 250 grams must be registered before its first flight." + DETAIL,
    "Night flights": "Flying a drone at night requires a green flashing light." + DETAIL,
    "Insurance": "Operators of drones used for work must hold liability insurance." + DETAIL,
}


def markdown(sections: dict[str, str]) -> bytes:
    body = "".join(f"## {heading}\n\n{text}\n\n" for heading, text in sections.items())
    return f"# Drone rules\n\n{body}".encode()


@pytest.fixture
def encoded(embedder, monkeypatch) -> list[str]:
    """Every text the encoder is given during the test."""
    texts: list[str] = []
    real_embed = embedder.embed

    def counting_embed(batch, show_progress=False):
        texts.extend(batch)
        return real_embed(batch, show_progress)

    monkeypatch.setattr(embedder, "embed", counting_embed)
    return texts


def ingest(pipeline: Pipeline, sections: dict[str, str]) -> None:
    fetched = make_fetched(markdown(sections), url=SOURCE.canonical_url,
                           content_type="text/markdown", filename="drones.md")
    result = pipeline.index(SOURCE, fetched, force=False)
    assert result.status == "ingested"


def live_vectors(store: Store) -> dict[str, np.ndarray]:
    """passage id -> its live vector."""
    ids = store.catalogue.vector_ids("drones")
    got = store.collection.get(ids=ids, include=["embeddings"])
    return {vector_id.split("@")[0]: np.asarray(vector) for vector_id, vector in
            zip(got["ids"], got["embeddings"], strict=False)}


def test_a_changed_paragraph_is_the_only_passage_embedded_again(settings, embedder, encoded):
    store = Store(settings)
    pipeline = Pipeline(settings, store, embedder=embedder)
    ingest(pipeline, SECTIONS)
    # Each passage and each distinct clause (kept for answers), once.
    clauses = set(clause_texts(store.catalogue.passages("drones")))
    assert len(encoded) == len(set(encoded)) == len(SECTIONS) + len(clauses)
    before = live_vectors(store)

    encoded.clear()
    ingest(pipeline, {**SECTIONS, "Night flights": "Night flights need a permit." + DETAIL})
    # The changed passage and its one new clause; the repeated sentences were known.
    assert len(encoded) == 2 and all("Night flights need a permit." in text for text in encoded)
    after = live_vectors(store)
    changed = next(pid for pid in after if "night" in pid)
    for passage_id, vector in after.items():
        if passage_id != changed:
            assert np.array_equal(vector, before[passage_id])
    assert not np.allclose(after[changed], before[changed])


def test_a_new_data_directory_starts_with_an_empty_cache_and_fills_it(settings, embedder, encoded):
    pipeline = Pipeline(settings, Store(settings), embedder=embedder)
    ingest(pipeline, SECTIONS)
    encoded.clear()
    pipeline.store.remove_document("drones")
    ingest(pipeline, SECTIONS)  # a removed and re-added document costs no encoding
    assert encoded == []
    assert settings.embedding_cache_path.is_file()


@pytest.mark.slow  # its answer depends on what the real model finds close
def test_ingest_keeps_clause_vectors_so_an_answer_encodes_only_its_question(settings, embedder, encoded):
    from kb.answers import ask, clause_cache
    from kb.search import search

    store = Store(settings)
    ingest(Pipeline(settings, store, embedder=embedder), SECTIONS)
    encoded.clear()
    question = "Must a drone be registered before its first flight?"
    answer = ask(store, embedder, question, backend="extractive")
    assert answer.mode == "extractive" and answer.citations
    assert set(encoded) == {question}  # search and evidence: the clauses came from the cache

    hits = search(store, embedder, question, k=3).hits
    cache = clause_cache(settings)
    cached, _ = prepare_evidence(hits, embedder, [question], cache=cache)
    cache.close()
    fresh, _ = prepare_evidence(hits, embedder, [question])
    for a, b in zip(cached, fresh, strict=False):
        assert a.clauses == b.clauses and np.allclose(a.vectors, b.vectors, atol=1e-5)
