"""Search: a question in, ranked passages of live documents out."""

from __future__ import annotations

from kb.embedding import Embedder
from kb.errors import UsageError
from kb.store import Store
from kb.types import Hit

MAX_K = 100


def search(store: Store, embedder: Embedder, query: str, k: int = 5) -> list[Hit]:
    """The k passages nearest in meaning to the query, best first."""
    query = query.strip()
    if not query:
        raise UsageError("the search query is empty; ask a question or name a provision")
    if not 1 <= k <= MAX_K:
        raise UsageError(f"k must be between 1 and {MAX_K}, not {k}")
    embedding = embedder.embed_query(query)
    for _ in range(3):
        ranked = store.dense_search(embedding, k)
        passages = store.catalogue.passages_by_vector_id([vector_id for vector_id, _ in ranked])
        # A document switched versions between the two reads: ask again rather than show a mix.
        if len(passages) == len(ranked):
            break
    return [Hit(rank=rank, score=score, passage=passages[vector_id])
            for rank, (vector_id, score) in enumerate(
                ((v, s) for v, s in ranked if v in passages), start=1)]


def matches_locator(locator: str, wanted: str) -> bool:
    """True when `locator` is `wanted` or lies inside it: 'Article 5(1)(f)' is in 'Article 5'."""
    locator, wanted = locator.casefold().strip(), " ".join(wanted.casefold().split())
    return locator == wanted or any(locator.startswith(wanted + sep) for sep in ("(", ",", " "))
