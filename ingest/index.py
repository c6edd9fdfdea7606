"""Passages to the store: embed them and make the new document version live."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from kb.embedding import Embedder
from kb.store import Store
from kb.types import Fetched, Passage, Source

# Bump when parsing or chunking changes what passages a document yields: every document is then
# re-ingested once, even when its bytes did not change.
PIPELINE_VERSION = "1"
EMBED_BATCH = 128


def document_version(fetched: Fetched, parser: str, max_tokens: int, embed_model: str) -> str:
    """A version id that changes when the bytes or anything that shapes the passages changes."""
    recipe = f"{fetched.sha256}|{parser}|{max_tokens}|{embed_model}|{PIPELINE_VERSION}"
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def index_passages(store: Store, embedder: Embedder, source: Source, fetched: Fetched,
                   version: str, parser: str, passages: list[Passage],
                   on_progress: Callable[[int, int], None] | None = None) -> None:
    """Embed passages in batches (reporting progress) and switch the document to this version."""
    inputs = [embedder.embedding_input(p) for p in passages]
    embeddings: list[list[float]] = []
    for start in range(0, len(inputs), EMBED_BATCH):
        embeddings.extend(embedder.embed(inputs[start:start + EMBED_BATCH]))
        if on_progress:
            on_progress(len(embeddings), len(inputs))
    store.replace_document(source, fetched, version, parser, passages, embeddings,
                           embedder.model_name)
