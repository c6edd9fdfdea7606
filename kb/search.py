"""Hybrid search: meaning (dense) and keywords (BM25) fused, named provisions first.

1. Provisions named in the query ("Art. 22 GDPR", "Recital 47") are looked up and put first.
2. Dense and keyword candidates are fused by reciprocal rank (weights in settings); the best fused
   candidates are then re-ranked by their keyword scores, as far as the two rankings agree.
3. A query naming a numbered clause ("Rule 6.2.1") prefers passages that cite it; a matching
   recital brings in the provision it explains, just above it; the document most of the best
   candidates come from counts as evidence for each of its passages.
4. Near-duplicate passages are dropped; an optional cap limits hits per document.
The best dense similarity gives the "no good match" signal that answers use to abstain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from kb.catalogue import stored_aliases
from kb.config import Settings
from kb.embedding import Embedder
from kb.errors import NotFoundError, UsageError
from kb.keyword import tokenize
from kb.references import document_mentions, find_references, parent_locators
from kb.search_documents import with_document_evidence
from kb.search_links import is_aside, with_links
from kb.store import Store
from kb.types import Hit, Passage, document_of_vector, matches_locator  # noqa: F401 - matches_locator: re-exported, its rule lives in kb.types

MAX_K = 100
SEARCH_ATTEMPTS = 3  # runs of a search whose catalogue another process changes while it runs
MIN_WORDS_WITHOUT_NAMES = 2  # keyword terms a query must keep without its document names to drop them
MAX_PROVISION_PASSAGES = 10
# Framework identifiers cite places the way articles do: "GOVERN 1.1", "MEASURE 2.11", "MAP 5".
_IDENTIFIER = re.compile(r"\b([A-Z]{3,} \d+(?:\.\d+)+)\b")
_CLAUSE_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3})+)(?![\w%]|\.\d)")
_YEAR_NUMBER = re.compile(r"\b((?:19|20)\d{2}/\d{1,4})\b")


@dataclass(frozen=True)
class SearchFilters:
    """Which documents a search may return; empty fields do not filter."""

    doc_ids: tuple[str, ...] = ()
    jurisdiction: str = ""
    issuer: str = ""
    doc_type: str = ""
    since: str = ""  # YYYY-MM-DD, inclusive, on the document date
    until: str = ""

    def active(self) -> bool:
        return any((self.doc_ids, self.jurisdiction, self.issuer, self.doc_type, self.since, self.until))

    def allowed(self, documents: list[dict]) -> set[str]:
        """Ids of the documents that pass every filter."""
        for bound in (self.since, self.until):
            if bound:
                try:
                    date.fromisoformat(bound)
                except ValueError:
                    raise UsageError(f"dates must be YYYY-MM-DD, not '{bound}'") from None
        known = {doc["doc_id"] for doc in documents}
        unknown = [doc_id for doc_id in self.doc_ids if doc_id not in known]
        if unknown:
            raise NotFoundError(f"no document with id {', '.join(unknown)} (see `kb list`)")
        return {doc["doc_id"] for doc in documents if self._passes(doc)}

    def _passes(self, doc: dict) -> bool:
        def same(value: str | None, wanted: str) -> bool:
            return not wanted or (value or "").casefold() == wanted.casefold()

        doc_date = doc.get("date") or ""
        return ((not self.doc_ids or doc["doc_id"] in self.doc_ids)
                and same(doc.get("jurisdiction"), self.jurisdiction)
                and (not self.issuer or self.issuer.casefold() in (doc.get("issuer") or "").casefold())
                and same(doc.get("doc_type"), self.doc_type)
                and (not self.since or bool(doc_date and doc_date >= self.since))
                and (not self.until or bool(doc_date and doc_date <= self.until)))


@dataclass
class SearchResults:
    """Ranked hits plus the signals that callers act on."""

    hits: list[Hit]
    no_good_match: bool
    best_similarity: float
    references: list[str] = field(default_factory=list)  # provisions named in the query, found
    unknown_names: list[str] = field(default_factory=list)  # names in the query no passage contains
    names: list[str] = field(default_factory=list)  # proper names in the query ("Japan", "AIDA")


def search(store: Store, embedder: Embedder, query: str, k: int = 5,
           filters: SearchFilters | None = None, max_per_doc: int = 0) -> SearchResults:
    """The k passages that best answer the query, best first.

    A search reads the catalogue and both indexes several times. If another process switches a
    document meanwhile, the hits found under the old version's ids are dropped as not live and the
    document would be missing, so a search whose catalogue generation changed while it ran is run
    again (a writer switching a document faster than a search runs is not met in practice).
    """
    query = query.strip()
    if not query:
        raise UsageError("the search query is empty; ask a question or name a provision")
    if not 1 <= k <= MAX_K:
        raise UsageError(f"k must be between 1 and {MAX_K}, not {k}")
    embedding = query_embedding(store, embedder, query)
    for _ in range(SEARCH_ATTEMPTS):
        generation = store.catalogue.generation()
        results = search_once(store, embedding, query, k, filters, max_per_doc)
        if store.catalogue.generation() == generation:
            break
    return results


def query_embedding(store: Store, embedder: Embedder, query: str) -> list[float]:
    """The query's meaning, with the documents it names weighing `name_meaning_weight`.

    A document's name pulls a query's embedding towards every passage that mentions the document
    ("this Regulation", its preamble, the guidance about it) rather than the one that answers:
    "When do the rules of the EU AI regulation start to apply?" sits closer to a hundred passages
    about the regulation than to Article 113. Which document is meant is already the named-document
    preference's job, so with `name_meaning_weight` below 1 the meaning searched is the weighted
    mean of the query with and without its document names (normalised), unless too few words are
    left without them. Off by default: at 0.5 the named document's own passages can fall so far in
    meaning that another document's close match wins despite the named-document preference.
    """
    embedding = embedder.embed_query(query)
    weight = store.settings.name_meaning_weight
    if weight >= 1:
        return embedding
    names = document_names(store.catalogue.documents())
    without = without_document_names(query, names)
    if without == query or len(tokenize([without])[0]) < MIN_WORDS_WITHOUT_NAMES:
        return embedding
    mixed = weight * np.asarray(embedding) + (1 - weight) * np.asarray(embedder.embed_query(without))
    norm = float(np.linalg.norm(mixed))
    return [float(x) for x in mixed / norm] if norm > 0 else embedding


def without_document_names(query: str, names: Iterable[str]) -> str:
    """The query with every document name it uses taken out ("under the GDPR" -> "under the")."""
    for mention in reversed(document_mentions(query, {name: name for name in names})):
        query = query[:mention.start] + " " + query[mention.end:]
    return " ".join(query.split())


def search_once(store: Store, embedding: list[float], query: str, k: int, filters: SearchFilters | None,
                max_per_doc: int) -> SearchResults:
    """One search with the query's embedding, over the catalogue as it is (see search)."""
    settings = store.settings
    documents = store.catalogue.documents()
    allowed = filters.allowed(documents) if filters and filters.active() else None
    names = document_names(documents)  # once per search: aliases and named documents share it
    aliases = document_aliases(documents, names)
    store.ensure_keyword_index()
    dense = store.dense_search(embedding, settings.candidates, allowed)
    keyword = store.keyword.search(query, settings.candidates, allowed)
    scores = fuse([dense, keyword], [settings.dense_weight, settings.keyword_weight], settings.rrf_k)
    scores = with_lexical_rerank(store, query, scores, agreement(dense, keyword, settings.agreement_depth))
    scores = with_clauses_cited(store, query, scores, names)
    scores = with_explained_provisions(store, scores)
    scores = with_links(store, scores)  # the act provisions guidance cites; footnotes lowered
    scores = with_document_evidence(store, scores)  # the document most of the best come from
    scores = with_named_documents(store, scores, named_documents(query, documents, names))
    if allowed is not None:  # what the steps above brought in from other documents obeys the filters too
        scores = {vector_id: score for vector_id, score in scores.items() if document_of_vector(vector_id) in allowed}
    pinned, found = referenced_passages(store, query, aliases, documents, allowed, scores)
    # Only live passages come back: a document switching versions meanwhile shows its old or
    # its new text, never both.
    passages = store.catalogue.passages_by_vector_id(list(dict.fromkeys([*pinned, *scores])))
    scores = {vector_id: score for vector_id, score in scores.items() if vector_id in passages}
    dense = [(vector_id, similarity) for vector_id, similarity in dense if vector_id in passages]
    ranked = pinned + sorted((v for v in scores if v not in pinned), key=lambda v: -scores[v])
    hits = select(ranked, passages, scores, k, max_per_doc, pinned)
    best = max((similarity for _, similarity in dense), default=0.0)
    query_names = names_in(query, aliases)
    unknown = unmentioned_names(store, query_names)
    no_match = not pinned and (best < settings.no_match_similarity or bool(unknown))
    return SearchResults(hits=hits, no_good_match=no_match, best_similarity=best,
                         references=found, unknown_names=unknown, names=query_names)


_NAME = re.compile(r"\b(?:[A-Z][A-Za-z0-9-]*[a-z0-9][A-Za-z0-9-]*|[A-Z]{2,}[0-9]*)\b")


def names_in(query: str, aliases: dict[str, str]) -> list[str]:
    """Proper names and acronyms in a query ("Colorado", "AIDA"), not sentence-initial words
    and not names of our own documents.

    A question about something the corpus never mentions cannot be answered from it, however
    close its other words come (the Colorado AI Act reads much like the EU AI Act).
    """
    known = {alias.casefold() for alias in aliases} | {"ai", "eu", "i"}
    names = []
    for match in _NAME.finditer(query):
        word = match.group()
        sentence_start = not query[:match.start()].strip() or query[:match.start()].rstrip()[-1] in ".?!:"
        if sentence_start or len(word) < 3 or word.split("-")[0].casefold() in known:
            continue
        names.append(word)
    return names


def unmentioned_names(store: Store, names: list[str]) -> list[str]:
    """The names that no live passage mentions, footnotes and bibliographies aside: a corpus that
    cites the "Colorado Technology Law Journal" in a reference list says nothing about Colorado's law."""
    return [name for name, vector_ids in store.keyword.passages_with(names).items()
            if not mentioned_outside_asides(store, vector_ids)]


def mentioned_outside_asides(store: Store, vector_ids: list[str]) -> bool:
    """Whether any of these passages is live and not a footnote or bibliography entry (looked up 10,
    then 100, then 1,000 at a time: a common name is in thousands of passages, and one of the first
    will do)."""
    start, batch = 0, 10
    while start < len(vector_ids):
        passages = store.catalogue.passages_by_vector_id(vector_ids[start:start + batch])
        if any(not is_aside(passage) for passage in passages.values()):
            return True
        start, batch = start + batch, min(batch * 10, 1000)
    return False


def fuse(rankings: list[list[tuple[str, float]]], weights: list[float], rrf_k: int) -> dict[str, float]:
    """Reciprocal rank fusion, scaled so that first place in every ranking scores 1."""
    total = sum(weight / (rrf_k + 1) for weight in weights) or 1.0
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=False):
        for rank, (vector_id, _) in enumerate(ranking, start=1):
            fused[vector_id] = fused.get(vector_id, 0.0) + weight / (rrf_k + rank) / total
    return fused


def agreement(dense: list[tuple[str, float]], keyword: list[tuple[str, float]], depth: int) -> float:
    """Share of the top `depth` passages that both rankings hold (0: they disagree entirely)."""
    if depth <= 0:
        return 0.0
    return len({v for v, _ in dense[:depth]} & {v for v, _ in keyword[:depth]}) / depth


def lexically_reranked(scores: dict[str, float], keyword_scores: dict[str, float],
                       weight: float) -> dict[str, float]:
    """The candidates in `keyword_scores` with `weight` times their BM25 score (as a share of
    the best candidate's) added to their fused score; the other passages keep theirs."""
    best = max(keyword_scores.values(), default=0.0)
    if weight <= 0 or best <= 0:
        return scores
    return {**scores, **{v: scores[v] + weight * keyword_scores[v] / best for v in keyword_scores}}


def rerank_weight(settings: Settings, agreed: float, query_terms: int) -> float:
    """How far keyword scores re-order the fused candidates: more as the rankings agree, and more
    for a query of many content words, whose keyword score rests on more evidence."""
    length = min(1.0, query_terms / settings.rerank_full_length) ** 2
    return settings.rerank_weight * agreed + settings.rerank_length_weight * length


def with_lexical_rerank(store: Store, query: str, scores: dict[str, float], agreed: float) -> dict[str, float]:
    """Re-rank the best fused candidates by how well their words match the query, as far as the
    two rankings agree.

    When meaning and keywords pick the same passages, or the query is long, the question uses the
    documents' own words (a rulebook read by someone who knows it), and the exact keyword scores
    order those passages better than ranks do. A short question in everyday words on which the
    two disagree keeps its fused ranks.
    """
    weight = rerank_weight(store.settings, agreed, len(tokenize([query])[0]))
    if weight <= 0:
        return scores
    candidates = sorted(scores, key=lambda v: -scores[v])[:store.settings.rerank_candidates]
    return lexically_reranked(scores, store.keyword.scores(query, candidates), weight)


def clause_numbers(query: str, names: Iterable[str] = ()) -> list[str]:
    """Numbered clauses a query names ("Rule 6.2.1(a)", "section 5.3", "GEN 3.3"), not percentages,
    and not the numbers in the documents' names it uses ("Llama 3.1" is a licence, not clause 3.1)."""
    query = without_document_names(query.replace("\u200e", ""), [n for n in names if _CLAUSE_NUMBER.search(n)])
    return list(dict.fromkeys(_CLAUSE_NUMBER.findall(query)))


def cites(text: str, number: str) -> bool:
    """The text names the clause `number` itself, not a longer number that starts with it."""
    return re.search(rf"(?<![\w.]){re.escape(number)}(?!\.?\d)", text) is not None


def with_clauses_cited(store: Store, query: str, scores: dict[str, float],
                       names: Iterable[str] = ()) -> dict[str, float]:
    """A query that names a numbered clause prefers the candidates whose text cites that clause.

    Rulebooks cross-refer constantly ("in accordance with Rules 18.5.1 and 18.5.2"), and a
    question that names a rule is mostly about a provision that applies it: measured on ObliQA,
    raising the clause itself lowers MAP, raising the passages that cite it lifts it.
    """
    numbers = clause_numbers(query, names)
    weight = store.settings.clause_citation_weight
    if not numbers or weight == 1:
        return scores
    passages = store.catalogue.passages_by_vector_id(list(scores))
    return {vector_id: score * weight if vector_id in passages and any(
        cites(passages[vector_id].text, number) for number in numbers) else score
        for vector_id, score in scores.items()}


def with_explained_provisions(store: Store, scores: dict[str, float]) -> dict[str, float]:
    """Bring in the provision behind each matching recital, ranked just above the recital.

    A question often matches the recital that explains a rule better than the rule's own terse
    wording; people still need the binding provision, so it comes first and its recital follows.
    """
    links = store.catalogue.explained_provisions(list(scores))
    return explained_first(scores, links, store.settings.recital_link_weight)


def explained_first(scores: dict[str, float], links: dict[str, str], weight: float) -> dict[str, float]:
    """Each linked provision scores at least `weight` times its recital's score (recital id ->
    provision id in `links`); a provision that scores higher on its own keeps its score."""
    boosted = dict(scores)
    for recital, provision in links.items():
        boosted[provision] = max(boosted.get(provision, 0.0), scores[recital] * weight)
    return boosted


def document_names(documents: list[dict]) -> dict[str, set[str]]:
    """Every name people use for a document, with the documents it names: the id, official
    numbers, short names and acronyms in the title ("GDPR", "AI Act"), and the publisher's names
    ("NIST", "OECD", "European Union"). A publisher's name names all of its documents."""
    names: dict[str, set[str]] = {}

    def add(name: str, doc_id: str) -> None:
        if name.strip():
            names.setdefault(name.strip(), set()).add(doc_id)

    for doc in documents:
        doc_id, title, issuer = doc["doc_id"], doc.get("title") or "", doc.get("issuer") or ""
        add(doc_id, doc_id)
        for alias in stored_aliases(doc):  # the registry's names: "EO 14110", "GPAI code"
            add(alias, doc_id)
        for number in _YEAR_NUMBER.findall(title):
            add(number, doc_id)
        for short in re.findall(r"\(([A-Z][A-Za-z ]{1,60})\)", title):
            if short.isupper() and len(short) <= 3:  # "(EU)" in "Regulation (EU) 2024/1689"
                continue
            add(short, doc_id)
            acronym = "".join(word[0] for word in short.split() if word[0].isupper())
            if len(acronym) >= 3 and short != acronym:
                add(acronym, doc_id)
            if short.endswith("Act") and len(short.split()) > 2:
                add("AI Act" if "Intelligence" in short else short, doc_id)
        # The publisher: "National Institute of Standards and Technology (NIST), U.S. ..."
        for part in re.split(r",\s*", issuer):
            add(re.sub(r"\s*\(.*?\)", "", part).strip(), doc_id)
            for short in re.findall(r"\(([A-Z][A-Za-z]{2,})\)", part):
                add(short, doc_id)
    return names


def document_aliases(documents: list[dict], names: dict[str, set[str]] | None = None) -> dict[str, str]:
    """The names that name exactly one document (what a provision reference may attach to);
    `names` is document_names(documents) when the caller already has it."""
    names = document_names(documents) if names is None else names
    return {name: next(iter(doc_ids)) for name, doc_ids in names.items() if len(doc_ids) == 1}


def named_documents(query: str, documents: list[dict],
                    names: dict[str, set[str]] | None = None) -> set[str]:
    """The documents a query names, by any of their names (see document_names)."""
    names = document_names(documents) if names is None else names
    return {doc_id for mention in document_mentions(query, {name: name for name in names})
            for doc_id in names[mention.doc_id]}


def with_named_documents(store: Store, scores: dict[str, float], named: set[str]) -> dict[str, float]:
    """A query that names documents ("under the GDPR", "according to NIST") prefers their
    passages: the others' scores are scaled down, not removed."""
    weight = store.settings.other_document_weight
    if not named or weight >= 1:
        return scores
    return {vector_id: score if vector_id.split(":", 1)[0] in named else score * weight
            for vector_id, score in scores.items()}


def referenced_passages(store: Store, query: str, aliases: dict[str, str], documents: list[dict],
                        allowed: set[str] | None, scores: dict[str, float]) -> tuple[list[str], list[str]]:
    """Vector ids of the provisions the query names (best document first when none is named)."""
    references = find_references(query, aliases)
    pinned: list[str] = []
    found: list[str] = []
    candidates = [doc["doc_id"] for doc in documents if allowed is None or doc["doc_id"] in allowed]
    for reference in references:
        doc_ids = [reference.doc_id] if reference.doc_id is not None and reference.doc_id in candidates else (
            [] if reference.doc_id else candidates)
        matches = []
        for doc_id in doc_ids:
            vector_id = store.catalogue.first_passage_at(doc_id, parent_locators(reference.locator))
            if vector_id:
                matches.append(vector_id)
        matches.sort(key=lambda v: -scores.get(v, 0.0))
        for vector_id in matches[:1] if reference.doc_id else matches:
            if vector_id not in pinned:
                pinned.append(vector_id)
        if matches:
            found.append(reference.locator)
    for identifier in _IDENTIFIER.findall(query):
        vector_id = store.catalogue.first_passage_containing(identifier, candidates)
        if vector_id and vector_id not in pinned:
            pinned.append(vector_id)
            found.append(identifier)
    if len(references) == 1 and pinned:
        # One provision named: the rest of it follows its first passage, in document order.
        best = store.catalogue.passages_by_vector_id(pinned[:1])[pinned[0]]
        inside = store.catalogue.vector_ids_inside(best.doc_id, best.locator, references[0].locator)
        pinned += [v for v in inside if v not in pinned][:MAX_PROVISION_PASSAGES]
    return pinned, found


def select(ranked: list[str], passages: dict[str, Passage], scores: dict[str, float], k: int,
           max_per_doc: int, pinned: list[str]) -> list[Hit]:
    """The first k live passages, without near-duplicates, at most max_per_doc per document.

    Pinned passages (named in the query) score at least as high as the best fused hit."""
    hits: list[Hit] = []
    seen_texts: set[str] = set()
    seen_places: set[tuple[str, str]] = set()
    per_doc: dict[str, int] = {}
    top = max(scores.values(), default=1.0)
    for vector_id in ranked:
        passage = passages.get(vector_id)
        if passage is None:
            continue
        # One hit per place: the parts of a long recital or page, and repeated boilerplate,
        # would otherwise fill the list with the same citation.
        fingerprint = " ".join(re.sub(r"[^\w ]", "", passage.text.casefold()).split())[:300]
        place = (passage.doc_id, passage.locator)
        if fingerprint in seen_texts or place in seen_places:
            continue
        seen_places.add(place)
        if max_per_doc and per_doc.get(passage.doc_id, 0) >= max_per_doc:
            continue
        seen_texts.add(fingerprint)
        per_doc[passage.doc_id] = per_doc.get(passage.doc_id, 0) + 1
        score = max(scores.get(vector_id, 0.0), top) if vector_id in pinned else scores.get(vector_id, 0.0)
        hits.append(Hit(rank=len(hits) + 1, score=score, passage=passage))
        if len(hits) == k:
            break
    return hits

