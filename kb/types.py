"""The shared types: the only things that cross stage boundaries.

Source -> fetch -> Fetched -> parse -> ParsedDocument (tree of Section) -> chunk -> Passage
-> index -> search -> Hit -> answer -> Answer. A stored document is a `Document`; what an ingest
or an add did is a `DocumentResult` per document, and the events it reports on the way are
`ProgressEvent`s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

Origin = Literal["registry", "user"]  # where a document's registration comes from
FetchOrigin = Literal["network", "cache", "mirror", "file"]  # where its bytes came from
Status = Literal["ingested", "unchanged", "skipped", "failed"]  # what an ingest did to a document
Mode = Literal["generated", "extractive", "abstained"]  # how an answer was made
Stage = Literal["fetching", "parsing", "embedding", "updating"]  # a document's step in an ingest
STATUSES: tuple[Status, ...] = ("ingested", "unchanged", "skipped", "failed")


@dataclass(frozen=True)
class Source:
    """One document the knowledge base knows about: registry entry or user addition."""

    id: str
    title: str
    canonical_url: str
    issuer: str = ""
    jurisdiction: str = ""
    doc_type: str = ""
    date: str = ""  # ISO date (YYYY-MM-DD) of the text, "" when unknown
    fetch_url: str = ""  # where to download when it differs from the page people should open
    parser: str = ""  # parser name hint ("eurlex", "pdf", "markdown", "html", "text"); "" = detect
    path: str = ""  # a local file to read instead of fetching canonical_url (user-added files)
    origin: Origin = "registry"
    aliases: tuple[str, ...] = ()  # names people use for it: "EO 14110", "AI RMF", "GPAI code"
    status: str = ""  # "" while in force, "revoked" or "replaced"
    status_date: str = ""  # ISO date the status took effect
    status_note: str = ""  # by what, in words: "Revoked by Executive Order 14148 of 20 January 2025"
    replaced_by: str = ""  # id of the document that replaced it, when the knowledge base holds it

    def metadata(self) -> dict[str, str]:
        """The document metadata carried by every passage."""
        return {
            "title": self.title,
            "issuer": self.issuer,
            "jurisdiction": self.jurisdiction,
            "doc_type": self.doc_type,
            "date": self.date,
            "canonical_url": self.canonical_url,
        }


@dataclass(frozen=True)
class Fetched:
    """Raw bytes of a document with their provenance."""

    content: bytes
    url: str  # the URL asked for (canonical_url, or file:// for a local file)
    final_url: str  # after redirects; the mirror file's path for a mirror read
    fetched_at: str  # ISO 8601 UTC timestamp
    sha256: str  # hex digest of content
    content_type: str  # media type without parameters, e.g. "text/html", "application/pdf"
    origin: FetchOrigin = "network"
    filename: str = ""  # file name when known (helps format detection)

    @classmethod
    def create(cls, content: bytes, *, url: str, final_url: str, content_type: str,
               origin: FetchOrigin, filename: str = "") -> Fetched:
        """Fetched bytes stamped now, with their sha256."""
        return cls(content=content, url=url, final_url=final_url,
                   fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   sha256=hashlib.sha256(content).hexdigest(), content_type=content_type,
                   origin=origin, filename=filename)

    def provenance(self) -> dict[str, str]:
        """Everything about the fetch except the bytes."""
        data = asdict(self)
        data.pop("content")
        return data


@dataclass
class Section:
    """A node of a parsed document's own structure.

    `kind` is one of: document, preamble, recital, part, title, chapter, section, article,
    paragraph, point, annex, heading, page, text.
    `locator` is the human citation of this node ("Article 5(1)", "Recital 12", "Annex III, point 4",
    "page 12", "Installation"); "" for pure grouping nodes that are never cited on their own.
    `heading` is what this node adds to the heading path ("Article 5 Prohibited AI practices").
    `anchor` is the URL fragment that opens the official text here ("art_5", "page=12", "installation");
    "" means: use the nearest ancestor's anchor.
    `blocks` is the node's own text, one paragraph per item, before its children.
    `container` nodes (chapters, sections, the document) are never turned into one passage as a whole.
    `page` is the 1-based PDF page where the node's text starts (0 when not a PDF).
    """

    kind: str
    locator: str = ""
    heading: str = ""
    anchor: str = ""
    blocks: list[str] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    container: bool = False
    page: int = 0

    def walk(self):
        """Yield this node and all descendants, depth first, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class ParsedDocument:
    """A parser's output: the document's structure, nothing about storage."""

    root: Section
    title: str = ""  # the title found in the document itself, "" when none
    parser: str = ""  # name of the parser that produced it


@dataclass
class Passage:
    """A citable unit of text: what is embedded, stored, searched and cited."""

    passage_id: str
    doc_id: str
    title: str
    locator: str
    url: str
    text: str  # the passage as shown to people
    heading_path: list[str] = field(default_factory=list)
    context: str = ""  # lead-in text from the parent (e.g. "The following AI practices shall be prohibited:")
    kind: str = ""
    ordinal: int = 0  # position within the document
    tokens: int = 0  # word pieces of `text` for the embedding model
    metadata: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def reference(self) -> str:
        """Citation text a person can paste: "Regulation (EU) 2024/1689, Article 5(1)(f)", with the
        document's status when it is no longer in force: "…, Sec. 4.2 (revoked 2025-01-20)"."""
        title = short_title(self.title)
        cited = f"{title}, {self.locator}" if self.locator and self.locator != title else title
        return f"{cited} ({self.status_label})" if self.status_label else cited

    @property
    def status_label(self) -> str:
        """The document's status in a few words ("revoked 2025-01-20"), "" while it is in force
        (the registry's status, carried in the metadata of every passage)."""
        return status_label(self.metadata.get("status", ""), self.metadata.get("status_date", ""),
                            self.metadata.get("replaced_by", ""))

    def status_json(self) -> dict[str, str]:
        """The document's status fields for JSON output ("" each while in force)."""
        return {key: self.metadata.get(key, "") for key in ("status", "status_date", "status_note", "replaced_by")}


def status_label(status: str, status_date: str = "", replaced_by: str = "") -> str:
    """"revoked 2025-01-20", "replaced by omb-m-25-21", or "" for a document in force."""
    if not status:
        return ""
    if status == "replaced" and replaced_by:
        return f"replaced by {replaced_by}"
    return f"{status} {status_date}".strip()


def vector_id(passage_id: str, version: str) -> str:
    """The id of a passage's vector and catalogue row in one document version: the only place
    that makes one (a passage keeps its passage_id across versions, its vector id changes)."""
    return f"{passage_id}@{version}"


def document_of_vector(vector_id: str) -> str:
    """The doc_id a vector id belongs to (passage ids are `doc_id:…`; a doc_id holds no colon)."""
    return vector_id.split(":", 1)[0]


@dataclass
class Hit:
    """One search result."""

    rank: int
    score: float
    passage: Passage

    def to_json(self) -> dict:
        """The stable JSON shape that scripts rely on."""
        p = self.passage
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "passage_id": p.passage_id,
            "doc_id": p.doc_id,
            "title": p.title,
            "locator": p.locator,
            "url": p.url,
            "text": p.text,
            **p.status_json(),
        }


@dataclass
class Citation:
    """A passage an answer cites as [n], with the words of it that support the answer."""

    n: int
    passage: Passage
    quote: str  # the supporting words, verbatim from passage.text
    applies_from: str = ""  # ISO date since when the cited provision applies, "" when unknown
    applies_from_basis: str = ""  # the clause that says so: "Article 113(a)"
    # "applies", "not yet applicable" (on the answer's as_of date), "revoked" or "replaced"; "" unknown
    status: str = ""

    def reference(self) -> str:
        """Citation text a person can paste: "Regulation (EU) 2024/1689, Article 5(1)(f)"."""
        return self.passage.reference()

    def to_json(self) -> dict:
        p = self.passage
        return {"n": self.n, "passage_id": p.passage_id, "doc_id": p.doc_id, "title": p.title,
                "locator": p.locator, "url": p.url, "quote": self.quote,
                "reference": self.reference(), "applies_from": self.applies_from,
                "applies_from_basis": self.applies_from_basis,
                # The answer's own status on its date ("applies", ...) wins; else the document's.
                **p.status_json(), "status": self.status or p.metadata.get("status", "")}


@dataclass
class Answer:
    """An answer whose every sentence carries [n] markers pointing into `citations`.

    `mode` is "generated" (model sentences that passed verification), "extractive" (sentences
    quoted from the passages) or "abstained" (the corpus does not cover the question; `see_also`
    lists the nearest passages).
    """

    question: str
    text: str
    mode: Mode
    citations: list[Citation] = field(default_factory=list)
    dropped_sentences: list[dict] = field(default_factory=list)  # {"sentence", "reason"}
    see_also: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)  # retrieve, generate, verify, total
    backend: str = ""
    generated_tokens: int = 0  # pieces the model streamed (tokens for llama.cpp), for benchmarks
    definitions: list[Citation] = field(default_factory=list)  # of the defined terms the quotes use
    related: list[Citation] = field(default_factory=list)  # what the cited provisions point to or explain
    as_of: str = ""  # ISO date the answer states the law as of ("" = not composed)

    def to_json(self) -> dict:
        """The stable JSON shape that scripts rely on."""
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
            "citations": [citation.to_json() for citation in self.citations],
            "dropped_sentences": self.dropped_sentences,
            "see_also": [hit.to_json() for hit in self.see_also],
            "timings_ms": {name: round(ms, 1) for name, ms in self.timings_ms.items()},
            "backend": self.backend,
            "as_of": self.as_of,
            "definitions": [citation.to_json() for citation in self.definitions],
            "related": [citation.to_json() for citation in self.related],
        }


@dataclass(frozen=True)
class Document:
    """A live document of the knowledge base: its metadata, provenance and passage count."""

    doc_id: str
    title: str
    issuer: str = ""
    jurisdiction: str = ""
    doc_type: str = ""
    date: str = ""  # ISO date of the text, "" when unknown
    canonical_url: str = ""
    origin: Origin = "registry"
    passages: int = 0
    sha256: str = ""
    fetched_at: str = ""
    final_url: str = ""
    content_type: str = ""
    fetched_from: FetchOrigin = "network"
    parser: str = ""
    ingested_at: str = ""
    status: str = ""  # "" while in force, "revoked" or "replaced" (corpus/sources.toml)
    status_date: str = ""
    status_note: str = ""  # by what, in words
    replaced_by: str = ""  # id of the document that replaced it
    version: str = field(default="", repr=False)  # the live version's id (kb/store.py)
    embed_model: str = field(default="", repr=False)  # the model that made its vectors

    @classmethod
    def from_record(cls, record: Mapping) -> Document:
        """A Document from a catalogue row (missing or NULL columns become "")."""
        values: dict[str, Any] = {f.name: "" if record[f.name] is None else record[f.name]
                                  for f in fields(cls) if f.name in record}
        return cls(**values)

    @property
    def status_label(self) -> str:
        """"revoked 2025-01-20", "replaced by omb-m-25-21", or "" while in force."""
        return status_label(self.status, self.status_date, self.replaced_by)

    def to_json(self) -> dict:
        """The stable JSON shape that scripts rely on (`kb list --json`): no internal ids."""
        data = asdict(self)
        del data["version"], data["embed_model"]
        return data


@dataclass
class DocumentResult:
    """What an ingest or an add did to one document."""

    doc_id: str
    status: Status
    passages: int = 0
    message: str = ""
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people: "drones: ingested, 3 passages"."""
        return f"{self.doc_id}: {self.status}, {self.message or f'{self.passages} passages'}"


@dataclass
class AddResult(DocumentResult):
    """What an add did: the new document's result."""

    @classmethod
    def of(cls, result: DocumentResult) -> AddResult:
        return cls(**asdict(result))

    def summary(self) -> str:
        """"added drones: 3 passages"."""
        return f"added {self.doc_id}: {self.passages} passages"


@dataclass
class IngestReport:
    """What an ingest did, document by document."""

    results: list[DocumentResult]

    @property
    def failed(self) -> bool:
        return any(result.status == "failed" for result in self.results)

    def summary(self) -> str:
        """The totals in one line: "2 ingested, 1 unchanged, 0 skipped, 0 failed; 12 passages live"."""
        counts = {status: sum(r.status == status for r in self.results) for status in STATUSES}
        passages = sum(r.passages for r in self.results if r.status in ("ingested", "unchanged"))
        return ", ".join(f"{n} {status}" for status, n in counts.items()) + f"; {passages} passages live"

    def to_json(self) -> list[dict]:
        return [asdict(result) for result in self.results]


# Progress of an ingest or an add, as it happens (kb/progress.py and ui/corpus.py show them).

@dataclass(frozen=True)
class IngestStarted:
    total: int  # documents to bring up to date


@dataclass(frozen=True)
class ModelLoading:
    """The embedding model is being loaded (about 10 s, once)."""


@dataclass(frozen=True)
class StageStarted:
    doc_id: str  # or "keyword index" for the last step
    stage: Stage
    passages: int = 0  # for "embedding": how many


@dataclass(frozen=True)
class PassagesEmbedded:
    doc_id: str
    done: int
    total: int


@dataclass(frozen=True)
class DocumentDone:
    result: DocumentResult


@dataclass(frozen=True)
class IngestDone:
    results: list[DocumentResult]


ProgressEvent = IngestStarted | ModelLoading | StageStarted | PassagesEmbedded | DocumentDone | IngestDone
EventHandler = Callable[[ProgressEvent], None]


def matches_locator(locator: str, wanted: str) -> bool:
    """True when `locator` is `wanted` or lies inside it: 'Article 5(1)(f)' is in 'Article 5'.

    The one containment rule: Python code and the catalogue's SQL (as inside_locator) use it.
    """
    locator, wanted = locator.casefold().strip(), " ".join(wanted.casefold().split())
    return locator == wanted or any(locator.startswith(wanted + sep) for sep in ("(", ",", " "))


def short_title(title: str) -> str:
    """The part of a title people cite: "Regulation (EU) 2024/1689" of the AI Act's long title."""
    for separator in (" of the European Parliament", " laying down", " on the protection", ", as adopted"):
        if separator in title:
            return title.split(separator)[0].strip()
    return title


# Facts a document states about itself (ingest/facts.py), kept per document version --------

@dataclass(frozen=True)
class Definition:
    """A term a document defines: "deep fake" in Article 3(60) of the AI Act."""

    term: str  # as the document writes it: "deep fake", "AI"
    passage_id: str  # the passage that holds the definition
    locator: str  # where it is defined: "Article 3(60)", "page 3"
    text: str  # the defining words, from the term on: "‘deep fake’ means AI-generated or ..."


@dataclass(frozen=True)
class CrossReference:
    """A passage naming another provision: "Article 6(2)", "Article 22 of Regulation (EU) 2016/679".

    `act` is "" for the document's own provisions, else the act named, as a key such as
    "reg:2016/679" or "dir:2019/790" (resolved to a corpus document when the knowledge base holds
    one whose canonical URL is that act's ELI). `target_locator` is "" for a whole act;
    `target_passage_id` is filled for the document's own provisions that have a passage.
    """

    passage_id: str  # the passage that makes the reference
    words: str  # the reference as written: "paragraph 1 of this Article"
    target_locator: str  # "Article 6(2)", "Annex III", "" for the whole act
    act: str = ""
    target_passage_id: str = ""
    external_url: str = ""  # EUR-Lex link of an EU act named by number ("" for the document's own)


@dataclass(frozen=True)
class ApplicationDate:
    """Since when a passage's provision applies, and which clause says so."""

    passage_id: str
    applies_from: str  # ISO date
    basis: str  # the clause it comes from: "Article 113(a)", "Article 99(2)", "document date"


@dataclass
class DocumentFacts:
    """Everything ingest/facts.py reads from one document's passages."""

    definitions: list[Definition] = field(default_factory=list)
    references: list[CrossReference] = field(default_factory=list)
    dates: list[ApplicationDate] = field(default_factory=list)
    status: str = ""  # "" while in force, "revoked" or "replaced" (from the source registry)
    status_note: str = ""


@dataclass(frozen=True)
class FactLink:
    """A passage a fact points to: a definition, a provision referred to or referring here."""

    label: str  # the term defined, or the reference as written ("Article 2", "Directive (EU) 2098/7")
    locator: str  # where it is: "Article 1", "" for a whole act outside the corpus
    url: str  # the link that opens it, "" when the knowledge base cannot place it
    passage_id: str = ""  # "" outside the knowledge base

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class HitContext:
    """Beside a search hit: the definitions, in its document, of the defined terms the question
    uses, and the provisions its text refers to (`kb search`, the Search page)."""

    passage_id: str
    definitions: list[FactLink] = field(default_factory=list)
    refers_to: list[FactLink] = field(default_factory=list)

    def to_json(self) -> dict:
        return {name: [link.to_json() for link in getattr(self, name)] for name in ("definitions", "refers_to")}


@dataclass
class PassageFacts:
    """What the catalogue knows about one passage: since when it applies, the defined terms its
    text uses, what it refers to and what refers to it (`kb show DOC LOCATOR`, the Read page)."""

    passage_id: str
    applies_from: str = ""  # ISO date, "" when unknown
    applies_from_basis: str = ""  # "Article 113(a)"
    status: str = ""  # on `as_of`: "applies", "not yet applicable", "revoked", "replaced"; "" unknown
    as_of: str = ""
    definitions: list[FactLink] = field(default_factory=list)
    refers_to: list[FactLink] = field(default_factory=list)
    referred_by: list[FactLink] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"passage_id": self.passage_id, "applies_from": self.applies_from,
                "applies_from_basis": self.applies_from_basis, "status": self.status, "as_of": self.as_of,
                **{name: [link.to_json() for link in getattr(self, name)]
                   for name in ("definitions", "refers_to", "referred_by")}}
