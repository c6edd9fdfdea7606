"""Search evidence at the level of documents: a passage of the document that most of the best
candidates come from is likelier to be the answer than an equally good passage of another.

A question is usually about one text. When several of the best candidates come from one
document, that document is what the question is about, and a passage of it that matches about
as well as a passage of a document that matched once is the better answer (the act among its
paraphrases, the framework's section among reports that mention it once).
"""

from __future__ import annotations

from kb.store import Store
from kb.types import document_of_vector


def document_shares(scores: dict[str, float], depth: int) -> dict[str, float]:
    """Each document's share of the summed scores of the `depth` best candidates (0 to 1)."""
    best = sorted(scores, key=lambda v: -scores[v])[:depth]
    total = sum(scores[v] for v in best)
    shares: dict[str, float] = {}
    if total <= 0:
        return shares
    for vector_id in best:
        doc_id = document_of_vector(vector_id)
        shares[doc_id] = shares.get(doc_id, 0.0) + scores[vector_id] / total
    return shares


def with_document_evidence(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Each candidate's score times 1 + `document_evidence_weight` x its document's share of the
    best `document_evidence_depth` candidates (0: off); a document with no passage there keeps
    its scores."""
    weight = store.settings.document_evidence_weight
    if weight <= 0 or not scores:
        return scores
    shares = document_shares(scores, store.settings.document_evidence_depth)
    return {v: score * (1 + weight * shares.get(document_of_vector(v), 0.0)) for v, score in scores.items()}
