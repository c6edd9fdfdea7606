"""Search over links between documents: the provision behind the guidance, and kinds rarely asked for.

Commission guidelines, codes of practice and footnotes paraphrase the act they explain, often in
words closer to a question than the act's own; people still need the binding provision. The
catalogue keeps each passage's references (kb/catalogue_facts.py), so when a matching passage
cites a provision of another document, that provision is brought in just below it.
Footnotes and bibliography entries match many questions by their words and answer almost none,
so they carry a lower prior.
"""

from __future__ import annotations

from kb.catalogue import stored_aliases
from kb.references import find_references, parent_locators
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
    """Bring in the provisions of other documents that the best candidates cite, in their text or
    in the heading of their section, each scoring at least `citation_link_weight` times the best
    score of a passage citing it."""
    settings = store.settings
    if settings.citation_link_weight <= 0 or settings.citation_link_candidates <= 0 or not scores:
        return scores
    best = sorted(scores, key=lambda v: -scores[v])[:settings.citation_link_candidates]
    links = cited_provisions(store, best)
    if settings.heading_links:
        for source, targets in headed_provisions(store, best, registry_names(store)).items():
            links.setdefault(source, []).extend(t for t in targets if t not in links.get(source, []))
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


def registry_names(store: Store) -> dict[str, str]:
    """The registry's names that name one document ("AI Act" -> eu-ai-act): the names ingest reads
    guidance's citations by (a title's "(AI Act)" in the Commission's guidelines does not count)."""
    owners: dict[str, set[str]] = {}
    for document in store.catalogue.documents():
        for alias in stored_aliases(document):
            owners.setdefault(alias, set()).add(document["doc_id"])
    return {alias: next(iter(doc_ids)) for alias, doc_ids in owners.items() if len(doc_ids) == 1}


def headed_provisions(store: Store, vector_ids: list[str], aliases: dict[str, str]) -> dict[str, list[str]]:
    """Candidate vector id -> vector ids of the provisions of other documents that the nearest
    heading of its section names ("7. ARTICLE 5(1)(F) AI ACT EMOTION RECOGNITION": the guidelines'
    paragraphs under it explain Article 5(1)(f) of the AI Act, whether or not they cite it)."""
    passages = store.catalogue.passages_by_vector_id(vector_ids)
    found: dict[tuple[str, str], str | None] = {}  # (doc_id, locator) -> vector id, once per search
    headed: dict[str, list[str]] = {}
    for source, passage in passages.items():
        for heading in reversed(passage.heading_path):
            references = [r for r in find_references(heading, aliases) if r.doc_id and r.doc_id != passage.doc_id]
            if not references:
                continue
            for reference in references[:store.settings.citation_link_max_targets]:
                key = (reference.doc_id or "", reference.locator)
                if key not in found:
                    found[key] = store.catalogue.first_passage_at(key[0], parent_locators(key[1]))
                if found[key]:
                    headed.setdefault(source, []).append(found[key] or "")
            break
    return headed
