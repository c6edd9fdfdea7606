"""The context of search hits: what the question's words mean in each hit's document, and what
each hit points to.

A person reading "Deployers of an emotion recognition system shall inform ..." needs to know what
the act means by 'deployer' and 'emotion recognition system', and where the provision it points to
("Article 26(1)") is. Ingest keeps each document's definitions and cross-references
(kb/catalogue_facts.py); this puts them beside the hits as links. Ranking is unchanged: hits are
the same with and without their context.
"""

from __future__ import annotations

from kb.compose_terms import terms_in
from kb.store import Store
from kb.types import FactLink, Hit, HitContext


def hits_context(store: Store, query: str, hits: list[Hit]) -> list[HitContext]:
    """For each hit, in order: the definitions, in the hit's own document, of the defined terms
    that both the query and the hit use (a term of another document is not that document's
    meaning; a hit that does not use the term needs no explaining), and the
    provisions the hit's text refers to (resolved to passages where the corpus holds them,
    external acts with their own link)."""
    if not hits:
        return []
    facts = store.catalogue.facts
    doc_ids = list(dict.fromkeys(hit.passage.doc_id for hit in hits))
    index = facts.defined_terms(doc_ids)
    used = terms_in(query, set(index))
    found = []
    for hit in hits:
        own = f"{hit.passage.doc_id}:"
        shared = set(terms_in(hit.passage.text, set(used)))
        definitions = [definition for key in used if key in shared
                       for definition in [d for d in index[key] if d.passage_id.startswith(own)][:1]
                       if definition.passage_id != hit.passage.passage_id]
        found.append((hit, definitions, facts.refers_to(hit.passage.passage_id)))
    places = store.catalogue.passages_by_id(list(dict.fromkeys(
        [d.passage_id for _, definitions, _ in found for d in definitions]
        + [r.target_passage_id for _, _, refers in found for r in refers if r.target_passage_id])))

    def link(label: str, passage_id: str, locator: str = "", url: str = "") -> FactLink:
        place = places.get(passage_id)
        if place is None:  # outside the knowledge base: the act's own link, if any
            return FactLink(label, locator, url)
        return FactLink(label, place.locator, place.url, passage_id)

    return [HitContext(hit.passage.passage_id,
                       definitions=[link(d.term, d.passage_id, d.locator) for d in definitions],
                       refers_to=list(dict.fromkeys(link(r.words, r.target_passage_id, r.target_locator,
                                                         r.external_url) for r in refers)))
            for hit, definitions, refers in found]
