"""The hashing stand-in for the embedding model (the fast tier's): chosen by KB_EMBED_BACKEND,
deterministic, unit length, the real model's dimension, and recorded under its own name."""

from __future__ import annotations

import numpy as np

from kb.api import KnowledgeBase, load_embedder
from kb.config import load_settings
from kb.embedding import Embedder, embed_model_name
from kb.types import Passage


def hash_embedder(tmp_path) -> Embedder:
    return load_embedder(home=tmp_path, embed_backend="hash")


def test_the_setting_picks_the_stand_in_and_documents_record_its_name(tmp_path):
    with KnowledgeBase.open(tmp_path, embed_backend="hash") as kb:
        embedder = kb.embedder
        assert embedder.model_name == embed_model_name(kb.settings) == "feature-hashing-384"
    assert embed_model_name(load_settings(home=tmp_path, embed_backend="sentence-transformers")) == "all-MiniLM-L6-v2"
    assert embedder.dimension == 384


def test_vectors_are_unit_length_repeatable_and_nearer_for_shared_words(tmp_path):
    embedder = hash_embedder(tmp_path)
    texts = ["Drones must be registered.", "Every drone must be registered before flight.",
             "Bicycle helmets for children.", ""]
    vectors = np.array(embedder.embed(texts))
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors, np.array(hash_embedder(tmp_path).embed(texts)))
    assert embedder.embed_query(texts[0]) == vectors[0].tolist()
    assert vectors[0] @ vectors[1] > 0.5 > abs(vectors[0] @ vectors[2])


def test_context_is_clipped_to_the_encoder_budget_and_the_passage_kept_whole(tmp_path):
    embedder = hash_embedder(tmp_path)
    text = "word " * 200
    passage = Passage(passage_id="d:1", doc_id="d", title="Act", locator="Article 1", url="", text=text.strip(),
                      heading_path=["Chapter I", "Article 1"], context="lead-in " * 100,
                      tokens=embedder.count_tokens([text])[0])
    encoded = embedder.embedding_input(passage)
    assert encoded.endswith(passage.text)
    assert embedder.count_tokens([encoded])[0] <= 256 - 2
    assert encoded.startswith("Chapter I > Article 1: lead-in")
