"""Search over links between documents: the provision behind the guidance, and kinds rarely asked for.

Commission guidelines, codes of practice and footnotes paraphrase the act they explain, often in
words closer to a question than the act's own; people still need the binding provision. The
catalogue keeps each passage's references (kb/catalogue_facts.py), so when a matching passage
cites a provision of another document, that provision is brought in just below it.
Footnotes and bibliography entries match many questions by their words and answer almost none,
so they carry a lower prior.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from kb.catalogue import stored_aliases
from kb.references import find_references, parent_locators
from kb.store import Store
from kb.types import Passage, vector_id

# Passages that are rarely an answer: a PDF's footnotes, and its bibliography ("Reference 12"),
# whether its entries are numbered or only laid out in pages under a heading ("Appendix B. References").
ASIDE_KINDS = ("footnote",)
ASIDE_LOCATORS = ("footnote ", "reference ")
_BIBLIOGRAPHY_HEADING = re.compile(r"(?:^|[\s.:])(?:references|bibliography|works cited|endnotes)$", re.IGNORECASE)


def with_links(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """The provisions the best candidates cite brought in (from their unlowered scores), then
    footnotes and bibliography entries lowered."""
    return with_asides_lowered(store, with_cited_provisions(store, scores))


def is_aside(passage: Passage) -> bool:
    """A footnote or a bibliography entry: text beside the document's own argument."""
    return (passage.kind in ASIDE_KINDS or passage.locator.casefold().startswith(ASIDE_LOCATORS)
            or any(_BIBLIOGRAPHY_HEADING.search(heading.strip()) for heading in passage.heading_path))


def with_asides_lowered(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Footnotes and bibliography entries among the best candidates score `aside_weight` times
    their fused score (lower down they cannot pass a hit that is not one)."""
    weight = store.settings.aside_weight
    if weight >= 1 or not scores:
        return scores
    best = sorted(scores, key=lambda v: -scores[v])[:store.settings.aside_candidates]
    asides = _memo(store).asides_among(store, best)
    return {v: score * weight if v in asides else score for v, score in scores.items()}


def with_cited_provisions(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Bring in the provisions of other documents that the best candidates cite, in their text or
    in the heading of their section, each scoring at least `citation_link_weight` times the best
    score of a passage citing it."""
    settings = store.settings
    if settings.citation_link_weight <= 0 or settings.citation_link_candidates <= 0 or not scores:
        return scores
    best = sorted(scores, key=lambda v: -scores[v])[:settings.citation_link_candidates]
    links = _memo(store).links_of(store, best)
    boosted = dict(scores)
    for source in best:
        for target in links[source]:
            boosted[target] = max(boosted.get(target, 0.0), scores[source] * settings.citation_link_weight)
    return boosted


def provisions_cited(store: Store, vector_ids: list[str],
                     found: dict[tuple[str, str], str | None] | None = None,
                     headings: dict[str, list[tuple[str, str]]] | None = None) -> dict[str, list[str]]:
    """Candidate vector id -> vector ids of the live passages of other documents that it cites,
    in its text or (with `heading_links`) in the nearest heading of its section that names one."""
    passages = store.catalogue.passages_by_vector_id(vector_ids)
    names = registry_names(store) if store.settings.heading_links else {}
    found = {} if found is None else found  # (doc_id, locator) -> vector id, kept by the caller
    headings = {} if headings is None else headings  # heading -> what it names, kept by the caller
    cited: dict[str, list[str]] = {}
    for source, passage in passages.items():
        targets = referenced_passages(store, passage)
        for doc_id, locator in headed_provisions(passage, names, store.settings.citation_link_max_targets,
                                                 headings):
            if (doc_id, locator) not in found:
                found[doc_id, locator] = store.catalogue.first_passage_at(doc_id, parent_locators(locator))
            targets.append(found[doc_id, locator] or "")
        cited[source] = [target for target in dict.fromkeys(targets) if target]
    return cited


def referenced_passages(store: Store, passage: Passage) -> list[str]:
    """Vector ids of the live passages of other documents that the passage's text cites; a passage
    citing more than `citation_link_max_targets` places is a list, not an explanation."""
    targets = list(dict.fromkeys(
        reference.target_passage_id for reference in store.catalogue.facts.refers_to(passage.passage_id)
        if reference.target_passage_id and reference.target_passage_id.split(":", 1)[0] != passage.doc_id))
    if len(targets) > store.settings.citation_link_max_targets:
        return []
    found = []
    for target in targets:
        document = store.catalogue.document(target.split(":", 1)[0])
        if document:
            found.append(vector_id(target, document["version"]))
    return found


def registry_names(store: Store) -> dict[str, str]:
    """The registry's names that name one document ("AI Act" -> eu-ai-act): the names ingest reads
    guidance's citations by (a title's "(AI Act)" in the Commission's guidelines does not count)."""
    owners: dict[str, set[str]] = {}
    for document in store.catalogue.documents():
        for alias in stored_aliases(document):
            owners.setdefault(alias, set()).add(document["doc_id"])
    return {alias: next(iter(doc_ids)) for alias, doc_ids in owners.items() if len(doc_ids) == 1}


def headed_provisions(passage: Passage, names: dict[str, str], most: int = 3,
                      known: dict[str, list[tuple[str, str]]] | None = None) -> list[tuple[str, str]]:
    """(doc_id, locator) of the provisions of other documents that the nearest heading of the
    passage's section names, at most `most` ("7. ARTICLE 5(1)(F) AI ACT EMOTION RECOGNITION": the
    guidelines' paragraphs under it explain Article 5(1)(f) of the AI Act, cited or not)."""
    if not names:
        return []
    known = {} if known is None else known  # heading -> (doc_id, locator) it names: a section's
    for heading in reversed(passage.heading_path):  # heading is read once, not once per passage
        if heading not in known:
            known[heading] = [(r.doc_id, r.locator) for r in find_references(heading, names) if r.doc_id]
        references = [(doc_id, locator) for doc_id, locator in known[heading] if doc_id != passage.doc_id]
        if references:
            return references[:most]
    return []


@dataclass
class _Memo:
    """What search learnt about passages of one store: links hold while the live passages (the
    catalogue's generation) and the settings they were read with do; whether a vector id is an
    aside never changes."""

    key: tuple = ()
    links: dict[str, list[str]] = field(default_factory=dict)
    provisions: dict[tuple[str, str], str | None] = field(default_factory=dict)
    headings: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    asides: dict[str, bool] = field(default_factory=dict)

    def links_of(self, store: Store, vector_ids: list[str]) -> dict[str, list[str]]:
        missing = [v for v in vector_ids if v not in self.links]
        if missing:
            found = provisions_cited(store, missing, self.provisions, self.headings)
            self.links.update({v: found.get(v, []) for v in missing})
        return {v: self.links[v] for v in vector_ids}

    def asides_among(self, store: Store, vector_ids: list[str]) -> set[str]:
        missing = [v for v in vector_ids if v not in self.asides]
        if missing:
            passages = store.catalogue.passages_by_vector_id(missing)
            self.asides.update({v: v in passages and is_aside(passages[v]) for v in missing})
        return {v for v in vector_ids if self.asides[v]}


_MEMOS: weakref.WeakKeyDictionary[Store, _Memo] = weakref.WeakKeyDictionary()
MEMO_LIMIT = 50_000  # vector ids remembered per store before starting afresh


def _memo(store: Store) -> _Memo:
    memo = _MEMOS.get(store)
    settings = store.settings
    key = (store.catalogue.generation(), settings.heading_links, settings.citation_link_max_targets)
    if memo is None or memo.key != key or len(memo.links) + len(memo.asides) > MEMO_LIMIT:
        memo = _MEMOS[store] = _Memo(key=key)
    return memo
