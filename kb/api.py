"""The one door into the knowledge base: every face (the `kb` CLI, the app, the benchmarks, the
test fixtures) opens a `KnowledgeBase` and calls its methods.

It owns the store (catalogue, vectors, keyword index), the embedding model (loaded on first
need, once), the answer models, the embedding cache and the write lock. Its methods are what the
product does; each one that changes the corpus takes the write lock itself and leaves the
catalogue, the vectors and the keyword index in step.

    with KnowledgeBase.open() as kb:              # KB_HOME, KB_* variables, config.toml
        for hit in kb.search("emotion recognition at work").hits: ...
        kb.add("https://example.org/guidance.html", jurisdiction="FR")
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.parse import PARSERS as PARSER_MODULES
from ingest.pipeline import Pipeline, add_document, add_upload, is_url, remove_document
from kb.access import CLOSED_MESSAGE, ChangeAccess, change_access, token_matches
from kb.answers import AnswerStream, checked_date, checked_question
from kb.batch import FORMATS as BATCH_FORMATS
from kb.batch import BatchQuestion, records, uploaded_questions
from kb.batch import formatted as batch_report
from kb.config import Settings, load_settings
from kb.doctor import Health
from kb.embedding import Embedder
from kb.embedding_cache import EmbeddingCache
from kb.errors import ConfigError, NotFoundError
from kb.evaluate import DIAGNOSIS_DEPTH, EvalReport, Question, load_questions
from kb.llm import BACKENDS, LanguageModel
from kb.reading import Part, Place, part_at
from kb.search import MAX_K, SearchFilters, SearchResults
from kb.store import Store
from kb.types import (
    AddResult,
    Answer,
    ApplicationDate,
    CrossReference,
    Definition,
    Document,
    EventHandler,
    FactLink,
    Hit,
    HitContext,
    IngestReport,
    Passage,
    PassageFacts,
    matches_locator,
    vector_id,
)

# What faces use besides KnowledgeBase, so that they need no module below this one.
__all__ = ["BACKENDS", "BATCH_FORMATS", "CLOSED_MESSAGE", "DIAGNOSIS_DEPTH", "MAX_K", "PARSERS", "AnswerStream",
           "ApplicationStage", "BatchQuestion", "ChangeAccess", "EvalReport", "Health", "HitContext",
           "KnowledgeBase", "Part", "PassageFacts", "PassageLinks", "Place", "Question", "SearchFilters",
           "SearchResults", "batch_report", "change_access", "checked_date", "checked_question", "is_url",
           "load_embedder", "matches_locator", "part_at", "token_matches"]

PARSERS = tuple(PARSER_MODULES)  # what `kb add --parser` may force, in the registry's order


def load_embedder(**overrides) -> Embedder:
    """The embedding model these settings name, loaded now: one to share between knowledge bases
    (`KnowledgeBase.open(..., embedder=...)` in tests and benchmarks)."""
    return Embedder(load_settings(**overrides))


@dataclass
class PassageLinks:
    """What the catalogue knows about one live passage, with the passages it names, for the Read
    page's links (`KnowledgeBase.passage_facts`; `facts_of` gives the CLI's dated summary)."""

    applies_from: ApplicationDate | None = None  # since when its provision applies, None unknown
    terms: list[Definition] = field(default_factory=list)  # defined terms its text uses (own document)
    refers_to: list[CrossReference] = field(default_factory=list)
    referred_by: list[CrossReference] = field(default_factory=list)
    passages: dict[str, Passage] = field(default_factory=dict)  # the live passages the above name, by id


@dataclass(frozen=True)
class ApplicationStage:
    """From one day on, this many of a document's passages apply, by one clause
    (the AI Act's Article 113(a) on 2 February 2025)."""

    doc_id: str
    applies_from: str  # ISO date
    basis: str
    passages: int


class KnowledgeBase:
    """A data directory's documents, and everything one can do with them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        """Open the store of `settings.home`; `embedder` (an Embedder) skips loading the model,
        so that tests and benchmarks share one."""
        self.settings = settings
        self._store = Store(settings)
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._embedding_cache: EmbeddingCache | None = None

    @classmethod
    def open(cls, home: str | Path | None = None, *, embedder: Embedder | None = None,
             **overrides) -> KnowledgeBase:
        """The knowledge base of `home` (default: KB_HOME, else the user data dir), with settings
        from KB_* variables and <home>/config.toml; keyword overrides win over both."""
        return cls(load_settings(home=home, **overrides), embedder=embedder)

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the catalogue and the embedding cache (the models stay loaded in the process)."""
        if self._embedding_cache is not None:
            self._embedding_cache.close()
            self._embedding_cache = None
        self._store.close()

    @property
    def home(self) -> Path:
        return self.settings.home

    # Models ------------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (about 10 s), once."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = Embedder(self.settings)
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    def answer_model(self, backend: str | None = None) -> LanguageModel | None:
        """The model that writes answers for a backend (None for "extractive"), loaded once per
        process; a ConfigError for an unknown backend."""
        from kb.llm import load_model

        return load_model(self.settings, backend or self.settings.llm_backend)

    # Reading -----------------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        """Every live document, by id."""
        return [Document.from_record(row) for row in self._store.catalogue.documents()]

    def document(self, doc_id: str) -> Document:
        """One live document; NotFoundError when there is none with that id."""
        row = self._store.catalogue.document(doc_id)
        if row is None:
            raise NotFoundError(f"no document with id '{doc_id}' (see `kb list`)")
        return Document.from_record(row)

    def passages(self, doc_id: str, locator: str = "") -> list[Passage]:
        """A document's passages in order; with a locator, those at or inside it ("Article 5"
        gives Article 5(1)(a) to 5(8)), a NotFoundError when there are none."""
        passages = self._store.catalogue.passages(doc_id)
        if not locator:
            return passages
        inside = [passage for passage in passages if matches_locator(passage.locator, locator)]
        if not inside:
            raise NotFoundError(f"'{locator}' not found in {doc_id}; `kb show {doc_id}` lists its locators")
        return inside

    def vector_count(self) -> int:
        """How many vectors the vector store holds (one per live passage when all is well)."""
        return self._store.vector_count()

    def locators(self, doc_id: str) -> list[str]:
        """The distinct locators of a document, in document order."""
        return list(dict.fromkeys(passage.locator for passage in self.passages(doc_id)))

    def outline(self, doc_id: str) -> list[Part]:
        """A document's parts: its passages grouped under their heading path, in order."""
        from kb.reading import outline

        return outline(self.passages(doc_id))

    def recital_explanations(self) -> list[tuple[Passage, Passage]]:
        """(recital, the live provision it explains) for every recital that ingest linked."""
        catalogue = self._store.catalogue
        versions = catalogue.live_versions()
        by_vector_id = {vector_id(p.passage_id, versions[doc.doc_id]): p
                        for doc in self.documents() for p in self.passages(doc.doc_id)}
        return [(by_vector_id[recital], by_vector_id[provision])
                for recital, provision in catalogue.explained_provisions(list(by_vector_id)).items()
                if provision in by_vector_id]

    def facts_of(self, passage: Passage, as_of: str | None = None) -> PassageFacts:
        """Since when a live passage applies (and its status on `as_of`, default today), the
        defined terms of its document that its text uses, what it refers to and what refers to it."""
        from kb.compose import applicability
        from kb.compose_terms import terms_in

        as_of = checked_date(as_of)
        catalogue = self._store.catalogue
        facts = catalogue.facts
        found = facts.applies_from([passage.passage_id]).get(passage.passage_id)
        status = facts.status([passage.doc_id]).get(passage.doc_id)
        own = f"{passage.doc_id}:"
        index = {key: [d for d in found_terms if d.passage_id.startswith(own)]
                 for key, found_terms in facts.defined_terms([passage.doc_id]).items()}
        used = [index[key][0] for key in terms_in(passage.text, {k for k, v in index.items() if v})]
        used = [d for d in used if d.passage_id != passage.passage_id]  # a definition's own terms
        refers = facts.refers_to(passage.passage_id)
        referring = facts.referred_by(passage.passage_id)
        places = catalogue.passages_by_id(list(dict.fromkeys(
            [d.passage_id for d in used] + [r.target_passage_id for r in refers if r.target_passage_id]
            + [r.passage_id for r in referring])))

        def link(label: str, passage_id: str, locator: str = "", url: str = "") -> FactLink:
            place = places.get(passage_id)
            if place is None:  # outside the knowledge base: the act's own link, if any
                return FactLink(label, locator, url)
            return FactLink(label, place.locator, place.url, passage_id)

        return PassageFacts(
            passage.passage_id, found.applies_from if found else "", found.basis if found else "",
            applicability(found, status, as_of), as_of,
            definitions=[link(d.term, d.passage_id, d.locator) for d in used],
            refers_to=[link(r.words, r.target_passage_id, r.target_locator, r.external_url) for r in refers],
            referred_by=list(dict.fromkeys(link(r.words, r.passage_id) for r in referring)))

    def passage_facts(self, passage_id: str) -> PassageLinks:
        """A live passage's date of application, the defined terms it uses, what it refers to and
        what refers to it, with the passages they land on (to link to them)."""
        from kb.compose_terms import terms_in

        catalogue = self._store.catalogue
        facts = catalogue.facts
        passage = catalogue.passages_by_id([passage_id]).get(passage_id)
        if passage is None:
            raise NotFoundError(f"no passage with id '{passage_id}'")
        index = facts.defined_terms([passage.doc_id])
        terms = [definition for key in terms_in(passage.text, set(index))
                 for definition in index[key][:1] if definition.passage_id != passage_id]
        found = PassageLinks(facts.applies_from([passage_id]).get(passage_id), terms,
                             facts.refers_to(passage_id), facts.referred_by(passage_id))
        named = ([d.passage_id for d in terms] + [r.target_passage_id for r in found.refers_to]
                 + [r.passage_id for r in found.referred_by])
        found.passages = catalogue.passages_by_id([pid for pid in dict.fromkeys(named) if pid])
        return found

    def application_stages(self) -> list[ApplicationStage]:
        """When each live document's provisions apply: one stage per (date, clause), by document
        and date; documents without dates of application have none."""
        stages: list[ApplicationStage] = []
        for document in self.documents():
            ids = [passage.passage_id for passage in self.passages(document.doc_id)]
            counts: dict[tuple[str, str], int] = {}
            for dated in self._store.catalogue.facts.applies_from(ids).values():
                key = (dated.applies_from, dated.basis)
                counts[key] = counts.get(key, 0) + 1
            stages += [ApplicationStage(document.doc_id, day, basis, n)
                       for (day, basis), n in sorted(counts.items())]
        return stages

    def locate(self, reference: str) -> Place:
        """The provision a reference names ("Art. 22 GDPR", "Recital 47 AI Act")."""
        from kb.reading import locate

        return locate(self._store, reference)

    # Search and answers ------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, filters: SearchFilters | None = None,
               max_per_doc: int = 0, *, overrides: dict[str, float] | None = None) -> SearchResults:
        """The k passages that best answer a query (or that it names), best first. `overrides`
        (setting name -> value, e.g. {"rerank_weight": 0.0}) searches as if those settings were
        in force, to compare weights; it swaps the settings the store reads for the call, so it is
        for tests and benchmarks, not for a knowledge base that others search at the same time."""
        from kb.evaluate import settings_applied
        from kb.search import search

        if not overrides:
            return search(self._store, self.embedder, query, k=k, filters=filters, max_per_doc=max_per_doc)
        unknown = sorted(set(overrides) - set(Settings.model_fields))
        if unknown:
            raise ConfigError(f"not a setting: {', '.join(unknown)}")
        with settings_applied(self._store, **overrides):
            return search(self._store, self.embedder, query, k=k, filters=filters, max_per_doc=max_per_doc)

    def search_context(self, query: str, hits: list[Hit]) -> list[HitContext]:
        """For each hit: the definitions, in its document, of the defined terms the query uses,
        and the provisions it refers to, each a link (the ranking is not changed)."""
        from kb.search_context import hits_context

        return hits_context(self._store, query, hits)

    def ask_stream(self, question: str, backend: str | None = None, k: int | None = None,
                   filters: SearchFilters | None = None, as_of: str | None = None) -> AnswerStream:
        """A cited answer as a stream of verified text; `.answer` holds the Answer after.
        `as_of` (YYYY-MM-DD, default today): the day the answer states the law for."""
        from kb.answers import ask_stream

        question = checked_question(question)  # a user mistake shows before any model loads
        self.answer_model(backend)
        return ask_stream(self._store, self.embedder, question, backend=backend, k=k, filters=filters,
                          as_of=as_of)

    def ask(self, question: str, backend: str | None = None, k: int | None = None,
            filters: SearchFilters | None = None, as_of: str | None = None) -> Answer:
        """A cited answer, whole."""
        stream = self.ask_stream(question, backend=backend, k=k, filters=filters, as_of=as_of)
        for _ in stream:
            pass
        assert stream.answer is not None  # set when the stream ends
        return stream.answer

    def ask_batch(self, questions: list[BatchQuestion], backend: str | None = None, k: int | None = None,
                  filters: SearchFilters | None = None, as_of: str | None = None) -> Iterator[dict]:
        """Each question's record as `kb ask --batch` writes it (its id and question as in the
        file, then the answer's JSON), one at a time as they are answered."""
        def ask_one(text: str) -> dict:
            answer = self.ask(text, backend=backend, k=k, filters=filters, as_of=as_of).to_json()
            del answer["question"]  # the record has it, as written in the file
            return answer

        return records(questions, ask_one)

    def uploaded_questions(self, name: str, content: bytes) -> list[BatchQuestion]:
        """The questions of a file sent through the app, checked before any model loads: a
        UsageError for an empty or binary file, more than KB_BATCH_MAX_QUESTIONS, or a bad line."""
        return uploaded_questions(name, content, self.settings.batch_max_questions)

    def evaluate(self, questions: Path | Iterable[Question],
                 filters: SearchFilters | None = None) -> EvalReport:
        """Retrieval figures on a question file (or loaded questions)."""
        from kb.evaluate import evaluate

        if isinstance(questions, (str, Path)):
            questions = load_questions(Path(questions))
        return evaluate(self._store, self.embedder, list(questions), filters)

    def gold_ranks(self, question: Question, filters: SearchFilters | None = None) -> dict:
        """Where a question's first gold passage sits in each ranking before fusion, with its
        meaning similarity (what `kb eval` prints for a miss)."""
        from kb.evaluate import gold_ranks

        return gold_ranks(self._store, self.embedder, question, filters)

    def sweep_fusion(self, questions: Path | Iterable[Question], filters: SearchFilters | None = None,
                     *, as_json: bool = False, write: bool = False) -> str:
        """`kb eval --sweep`: the fusion weights that do best on these questions, as a report;
        with `write`, kept in this data directory's settings when they gain anything."""
        from kb.evaluate import sweep_and_report

        if isinstance(questions, (str, Path)):
            questions = load_questions(Path(questions))
        return sweep_and_report(self._store, self.embedder, list(questions), filters,
                                as_json=as_json, write=write)

    # Changes (each under the write lock) -------------------------------------------------------

    def ingest(self, only: Iterable[str] = (), force: bool = False,
               on_event: EventHandler | None = None) -> IngestReport:
        """Bring every registry and user document (or those named) up to date; unchanged ones
        are skipped, a failing one keeps its previous version."""
        with self._store.writing():
            results = self._pipeline(on_event).ingest(list(only), force=force)
        return IngestReport(results)

    def refresh(self, doc_id: str | None = None, on_event: EventHandler | None = None) -> IngestReport:
        """Fetch one document (or all) again and re-index what changed."""
        return self.ingest([doc_id] if doc_id else (), on_event=on_event)

    def add(self, target: str, *, on_event: EventHandler | None = None, **metadata: str) -> AddResult:
        """Add a URL (http/https) or a local file; metadata as `kb add` options (doc_id, title,
        issuer, jurisdiction, doc_type, date, url, parser). Nothing is added if anything fails."""
        with self._store.writing():
            return AddResult.of(add_document(self._pipeline(on_event), target, **metadata))

    def add_upload(self, filename: str, content: bytes, *, on_event: EventHandler | None = None,
                   **metadata: str) -> AddResult:
        """Add a file sent through the app, accepted by what its bytes are, not by its name."""
        with self._store.writing():
            return AddResult.of(add_upload(self._pipeline(on_event), filename, content, **metadata))

    def remove(self, doc_id: str) -> str:
        """Remove a document and its passages; returns what happened, in one line."""
        with self._store.writing():
            return remove_document(self._pipeline(None), doc_id)

    def doctor(self, repair: bool = False) -> Health:
        """Check that catalogue, vectors and keyword index agree; with repair, mend what can be."""
        from kb import doctor

        with self._store.writing():  # a command at work would look like damage
            return doctor.repair(self._store, lambda: self.embedder) if repair else doctor.check(self._store)

    def _pipeline(self, on_event: EventHandler | None) -> Pipeline:
        """A pipeline over this store, sharing the model (loaded when it first embeds) and the cache."""
        if self._embedding_cache is None:
            self._embedding_cache = EmbeddingCache(self.settings.embedding_cache_path)
        return Pipeline(self.settings, self._store, self._embedder, on_event=on_event,
                        embedding_cache=self._embedding_cache, load_embedder=lambda: self.embedder)
