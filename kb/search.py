"""Search: a question in, ranked passages of live documents out."""

from __future__ import annotations

from kb.embedding import Embedder
from kb.errors import UsageError
from kb.store import Store
from kb.types import Hit

MAX_K = 100
# Dense candidates fetched per hit wanted, so that recital links can lift provisions.
CANDIDATE_FACTOR = 3
MIN_CANDIDATES = 20


def search(store: Store, embedder: Embedder, query: str, k: int = 5) -> list[Hit]:
    """The k passages that best answer the query, best first."""
    query = query.strip()
    if not query:
        raise UsageError("the search query is empty; ask a question or name a provision")
    if not 1 <= k <= MAX_K:
        raise UsageError(f"k must be between 1 and {MAX_K}, not {k}")
    embedding = embedder.embed_query(query)
    for _ in range(3):
        scores = dict(store.dense_search(embedding, max(k * CANDIDATE_FACTOR, MIN_CANDIDATES)))
        scores = with_explained_provisions(store, scores)
        passages = store.catalogue.passages_by_vector_id(list(scores))
        # A document switched versions between the reads: ask again rather than show a mix.
        if len(passages) == len(scores):
            break
    ranked = sorted((vector_id for vector_id in scores if vector_id in passages),
                    key=lambda vector_id: -scores[vector_id])[:k]
    return [Hit(rank=rank, score=scores[vector_id], passage=passages[vector_id])
            for rank, vector_id in enumerate(ranked, start=1)]


def with_explained_provisions(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Bring in the provision behind each matching recital, scored just below the recital.

    A question often matches the recital that explains a rule better than the rule's own terse
    wording; people still need the binding provision.
    """
    weight = store.settings.recital_link_weight
    boosted = dict(scores)
    for recital, provision in store.catalogue.explained_provisions(list(scores)).items():
        boosted[provision] = max(boosted.get(provision, 0.0), scores[recital] * weight)
    return boosted


def matches_locator(locator: str, wanted: str) -> bool:
    """True when `locator` is `wanted` or lies inside it: 'Article 5(1)(f)' is in 'Article 5'."""
    locator, wanted = locator.casefold().strip(), " ".join(wanted.casefold().split())
    return locator == wanted or any(locator.startswith(wanted + sep) for sep in ("(", ",", " "))
