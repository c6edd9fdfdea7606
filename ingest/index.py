"""Passages to the store: embed them and make the new document version live."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable

import numpy as np

from kb.embedding import Embedder
from kb.embedding_cache import EmbeddingCache
from kb.sentences import clause_texts
from kb.store import Store
from kb.types import Fetched, Passage, Source

# Bump when parsing or chunking changes what passages a document yields, or ingest starts keeping
# something new for them: every document is then re-ingested once, even when its bytes did not
# change (the embedding cache makes that cheap). 2: clause vectors for answers. 3: facts (ingest/facts.py).
# 4: definitions in memo, framework and guideline wording; the vectors of points' lead-ins.
PIPELINE_VERSION = "4"
EMBED_BATCH = 128


def document_version(fetched: Fetched, parser: str, max_tokens: int, embed_model: str) -> str:
    """A version id that changes when the bytes or anything that shapes the passages changes."""
    recipe = f"{fetched.sha256}|{parser}|{max_tokens}|{embed_model}|{PIPELINE_VERSION}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def index_passages(store: Store, embedder: Embedder, source: Source, fetched: Fetched,
                   version: str, parser: str, passages: list[Passage],
                   on_progress: Callable[[int, int], None] | None = None,
                   cache: EmbeddingCache | None = None) -> None:
    """Embed passages (reporting progress) and switch the document to this version.

    With a cache, the clauses that answers quote and check claims against are embedded too and
    kept there, so that an answer only has to encode its question (bench/answer.py).
    """
    inputs = [embedder.embedding_input(p) for p in passages]
    clauses = clause_texts(passages) if cache else []
    embeddings = embed_inputs(embedder, inputs + clauses, cache, on_progress)[:len(inputs)]
    links = recital_links(passages, embeddings, store.settings.recital_link_min_similarity)
    store.replace_document(source, fetched, version, parser, passages, embeddings,
                           embedder.model_name, links)


def embed_inputs(embedder: Embedder, inputs: list[str], cache: EmbeddingCache | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> list[list[float]]:
    """Embeddings of encoder inputs, in order: cached ones looked up, each new text encoded once.

    New texts are encoded longest first, so each batch holds texts of similar length and pads
    little (sentence-transformers sorts only within one call, and we call per progress step).
    """
    known = cache.get(embedder.model_name, inputs) if cache else {}
    pending = Counter(text for text in inputs if text not in known)
    done = len(inputs) - sum(pending.values())
    missing = sorted(pending, key=len, reverse=True)
    fresh: dict[str, list[float]] = {}
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start:start + EMBED_BATCH]
        fresh.update(zip(batch, embedder.embed(batch), strict=False))
        done += sum(pending[text] for text in batch)
        if on_progress:
            on_progress(done, len(inputs))
    if cache and fresh:
        cache.put(embedder.model_name, fresh)
    vectors = known | fresh
    return [vectors[text] for text in inputs]


def recital_links(passages: list[Passage], embeddings: list[list[float]],
                  min_similarity: float) -> dict[str, str]:
    """Recital passage id -> id of the provision it most likely explains.

    In EU acts the recitals state the reasons for the enacting terms, so a question that matches
    a recital is about the provision behind it. A recital split into several passages is compared
    as a whole (the mean of its parts).
    """
    provisions = [i for i, p in enumerate(passages) if p.kind in ("article", "paragraph", "point")]
    recitals: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        if p.kind == "recital":
            recitals.setdefault(p.locator, []).append(i)
    if not provisions or not recitals:
        return {}
    vectors = np.asarray(embeddings, dtype=np.float32)
    provision_vectors = vectors[provisions]
    links: dict[str, str] = {}
    for parts in recitals.values():
        whole = vectors[parts].mean(axis=0)
        similarities = provision_vectors @ (whole / np.linalg.norm(whole))
        best = int(similarities.argmax())
        if similarities[best] >= min_similarity:
            for i in parts:
                links[passages[i].passage_id] = passages[provisions[best]].passage_id
    return links
