"""Search over links between documents: the provision behind the guidance, and kinds rarely asked for.

Commission guidelines, codes of practice and footnotes paraphrase the act they explain, often in
words closer to a question than the act's own; people still need the binding provision. The
catalogue keeps each passage's references (kb/catalogue_facts.py), so when a matching passage
cites a provision of another document, that provision is brought in just below it.
Footnotes and bibliography entries match many questions by their words and answer almost none,
so they carry a lower prior.
"""

from __future__ import annotations

from kb.store import Store
from kb.types import Passage, vector_id

# Passages that are rarely an answer: a PDF's footnotes, and its bibliography ("Reference 12").
ASIDE_KINDS = ("footnote",)
ASIDE_LOCATORS = ("footnote ", "reference ")


def with_links(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """The provisions the best candidates cite brought in (from their unlowered scores), then
    footnotes and bibliography entries lowered."""
    return with_asides_lowered(store, with_cited_provisions(store, scores))


def is_aside(passage: Passage) -> bool:
    """A footnote or a bibliography entry: text beside the document's own argument."""
    return passage.kind in ASIDE_KINDS or passage.locator.casefold().startswith(ASIDE_LOCATORS)


def with_asides_lowered(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Footnotes and bibliography entries score `aside_weight` times their fused score."""
    weight = store.settings.aside_weight
    if weight >= 1 or not scores:
        return scores
    passages = store.catalogue.passages_by_vector_id(list(scores))
    return {v: score * weight if v in passages and is_aside(passages[v]) else score
            for v, score in scores.items()}


def with_cited_provisions(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Bring in the provisions of other documents that the best candidates cite, each scoring
    at least `citation_link_weight` times the best score of a passage citing it."""
    settings = store.settings
    if settings.citation_link_weight <= 0 or settings.citation_link_candidates <= 0 or not scores:
        return scores
    best = sorted(scores, key=lambda v: -scores[v])[:settings.citation_link_candidates]
    links = cited_provisions(store, best)
    boosted = dict(scores)
    for source, targets in links.items():
        for target in targets:
            boosted[target] = max(boosted.get(target, 0.0), scores[source] * settings.citation_link_weight)
    return boosted


def cited_provisions(store: Store, vector_ids: list[str]) -> dict[str, list[str]]:
    """Candidate vector id -> vector ids of the live passages in other documents it cites; a
    passage citing more than `citation_link_max_targets` places is a list, not an explanation."""
    passages = store.catalogue.passages_by_vector_id(vector_ids)
    facts = store.catalogue.facts
    cited: dict[str, list[str]] = {}
    for source, passage in passages.items():
        targets = list(dict.fromkeys(
            reference.target_passage_id for reference in facts.refers_to(passage.passage_id)
            if reference.target_passage_id and reference.target_passage_id.split(":", 1)[0] != passage.doc_id))
        if targets and len(targets) <= store.settings.citation_link_max_targets:
            cited[source] = targets
    versions: dict[str, str] = {}
    for doc_id in {target.split(":", 1)[0] for targets in cited.values() for target in targets}:
        document = store.catalogue.document(doc_id)
        if document:
            versions[doc_id] = document["version"]
    return {source: [vector_id(target, versions[target.split(":", 1)[0]]) for target in targets
                     if target.split(":", 1)[0] in versions]
            for source, targets in cited.items()}
