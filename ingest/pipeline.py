"""The ingest pipeline: sources -> fetch -> parse -> chunk -> index, one document at a time.

A failure on one document is reported and leaves every stored document, its own previous
version included, as it was.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ingest.chunk import chunk
from ingest.facts import extract_facts
from ingest.fetch import fetch_url, read_file, too_large_message
from ingest.index import document_version, index_passages
from ingest.mirror import Mirror
from ingest.parse import detect_parser, parse
from ingest.sources import check_id, load_registry, make_id, registry_aliases
from kb.config import Settings
from kb.embedding import Embedder, embed_model_name
from kb.embedding_cache import EmbeddingCache
from kb.errors import FetchError, KbError, NotFoundError, ParseError, UsageError
from kb.store import Store
from kb.types import (
    DocumentDone,
    DocumentResult,
    EventHandler,
    Fetched,
    IngestDone,
    IngestStarted,
    ModelLoading,
    ParsedDocument,
    PassagesEmbedded,
    Source,
    StageStarted,
)

# The file name an upload is stored under says what its bytes are, whatever the name it came with.
UPLOAD_SUFFIX = {"pdf": ".pdf", "eurlex": ".html", "html": ".html", "markdown": ".md", "text": ".txt"}


class Pipeline:
    """Ingests sources into a store; the embedder is loaded only when something needs embedding."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder | None = None,
                 on_event: EventHandler | None = None, embedding_cache: EmbeddingCache | None = None,
                 load_embedder: Callable[[], Embedder] | None = None):
        self.settings = settings
        self.store = store
        self._embedder = embedder
        self._load_embedder = load_embedder or (lambda: Embedder(settings))
        self.on_event = on_event or (lambda event: None)
        self.mirror = Mirror.open(settings.mirror, settings) if settings.mirror else None
        self.embedding_cache = embedding_cache or EmbeddingCache(settings.embedding_cache_path)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self.on_event(ModelLoading())
            self._embedder = self._load_embedder()
        return self._embedder

    def sources(self) -> list[Source]:
        """The registry's documents followed by those users added."""
        return load_registry(self.settings.sources_file) + self.store.catalogue.user_sources()

    def ingest(self, only: list[str] | None = None, force: bool = False) -> list[DocumentResult]:
        """Bring every (or every named) source up to date."""
        sources = self.sources()
        if only:
            known = {source.id for source in sources}
            unknown = [doc_id for doc_id in only if doc_id not in known]
            if unknown:
                raise NotFoundError(f"unknown document id: {', '.join(unknown)} (the known ones are "
                                    f"in {self.settings.sources_file} and `kb list`)")
            sources = [source for source in sources if source.id in only]
        self.on_event(IngestStarted(total=len(sources)))
        results = [self.ingest_one(source, force=force) for source in sources]
        self.store.delete_stale_vectors()
        self.on_event(StageStarted("keyword index", "updating"))
        self.store.refresh_keyword_index()
        self.on_event(IngestDone(results))
        return results

    def ingest_one(self, source: Source, force: bool = False) -> DocumentResult:
        """Fetch, parse, chunk and index one source; never raises for a document problem."""
        started = time.perf_counter()
        self.on_event(StageStarted(source.id, "fetching"))
        try:
            fetched = self.obtain(source)
            if fetched is None:
                result = DocumentResult(source.id, "skipped",
                                        message=f"not in the mirror {self.settings.mirror}")
            else:
                result = self.index(source, fetched, force)
        except KbError as exc:
            result = DocumentResult(source.id, "failed", message=str(exc))
        result.seconds = time.perf_counter() - started
        self.on_event(DocumentDone(result))
        return result

    def obtain(self, source: Source) -> Fetched | None:
        """The source's bytes: its local file, the mirror's copy, or a download."""
        if source.path:
            return read_file(Path(source.path), self.settings)
        if self.mirror is not None:
            return self.mirror.fetch(source.canonical_url)
        return fetch_url(source.fetch_url or source.canonical_url, self.settings)

    def index(self, source: Source, fetched: Fetched, force: bool,
              document: ParsedDocument | None = None) -> DocumentResult:
        """Parse (unless already parsed), chunk, embed and store one document's bytes."""
        parser = source.parser or detect_parser(fetched)
        version = document_version(fetched, parser, self.settings.max_passage_tokens,
                                   embed_model_name(self.settings))
        live = self.store.catalogue.document(source.id)
        if live and live["version"] == version and not force:
            self.store.catalogue.update_metadata(source)  # names and status may change without the text
            return DocumentResult(source.id, "unchanged", passages=live["passages"])
        self.on_event(StageStarted(source.id, "parsing"))
        document = document or parse(fetched, hint=parser)
        passages = chunk(document, source, self.embedder.count_tokens,
                         self.settings.max_passage_tokens)
        # Kept with this version before it goes live, so the switch brings passages and facts together.
        self.store.catalogue.facts.put(source.id, version,
                                       extract_facts(passages, source, registry_aliases(self.sources())))
        self.on_event(StageStarted(source.id, "embedding", passages=len(passages)))
        index_passages(self.store, self.embedder, source, fetched, version, parser, passages,
                       on_progress=lambda done, total: self.on_event(
                           PassagesEmbedded(source.id, done, total)),
                       cache=self.embedding_cache)
        return DocumentResult(source.id, "ingested", passages=len(passages))


def is_url(target: str) -> bool:
    """True for http(s) URLs, the only URLs `kb add` accepts."""
    return urlparse(target).scheme in ("http", "https")


def add_document(pipeline: Pipeline, target: str, **metadata: str) -> DocumentResult:
    """Register a URL or local file as a user document and ingest it; undo the registration on failure."""
    settings, catalogue = pipeline.settings, pipeline.store.catalogue
    if not target.strip():
        raise UsageError("give a URL (http or https) or the path of a file to add")
    if "://" in target and not is_url(target):
        raise UsageError(f"only http(s) URLs or local files can be added, not '{target}'")
    if is_url(target):
        fetched, local_copy = fetch_url(target, settings), None
        canonical_url = metadata.pop("url", "") or target
    else:
        path = Path(target).expanduser()
        fetched = read_file(path, settings)
        canonical_url = metadata.pop("url", "")  # "" = the kept copy, known once the id is
        local_copy = path
    parser = metadata.pop("parser", "") or detect_parser(fetched)
    # Parsed once, before anything is copied or registered: a broken file changes nothing.
    document = parse(fetched, hint=parser)
    title = metadata.pop("title", "") or document.title or _name_of(target)
    doc_id = check_id(metadata.pop("doc_id", "") or make_id(title))
    registry_ids = {source.id for source in load_registry(settings.sources_file)}
    # Adding the same bytes again finishes what an interrupted `kb add` began, or changes nothing;
    # a registration without a document, also left by an interrupted add, is simply replaced.
    existing = catalogue.document(doc_id)
    repeat = existing is not None and existing["origin"] == "user" and existing["sha256"] == fetched.sha256
    if doc_id in registry_ids or (existing is not None and not repeat):
        raise UsageError(f"a document with id '{doc_id}' already exists; choose another with --id")
    given: dict[str, Any] = {key: value for key, value in metadata.items() if value}  # metadata fields only
    source = Source(id=doc_id, title=title, canonical_url=canonical_url, parser=parser,
                    origin="user", fetch_url=target if is_url(target) else "", **given)
    if local_copy is not None:
        kept = _keep_copy(local_copy, doc_id, settings)
        source = replace(source, path=str(kept), canonical_url=canonical_url or kept.as_uri())
    catalogue.add_user_source(source)
    try:
        result = pipeline.index(source, fetched, force=not repeat, document=document)
        pipeline.store.delete_stale_vectors()
        pipeline.store.refresh_keyword_index()
        return result
    except BaseException:
        if repeat:
            raise
        catalogue.remove_user_source(doc_id)
        if source.path:
            Path(source.path).unlink(missing_ok=True)
        raise


def add_upload(pipeline: Pipeline, filename: str, content: bytes, **metadata: str) -> DocumentResult:
    """Add a file sent through the app: accepted by size and by what its bytes are (PDF, HTML,
    Markdown or text), never by its name; then added like a local file."""
    limit = pipeline.settings.max_bytes
    if len(content) > limit:
        raise FetchError(too_large_message(filename, limit))
    if not content.strip():
        raise ParseError(f"{filename} is empty")
    by_content = Fetched.create(content, url=filename, final_url=filename, content_type="",
                                origin="file")
    try:
        kind = detect_parser(by_content)
    except ParseError:
        raise ParseError(f"{filename} is not a PDF, HTML, Markdown or text file; its content is "
                         "binary data of another kind") from None
    if kind == "text" and Path(filename).suffix.lower() in (".md", ".markdown"):
        kind = "markdown"  # Markdown is text; only a name tells it from text without headings
    stem = re.sub(r"[^\w.-]+", "-", Path(filename).stem).strip(".-") or "upload"
    with tempfile.TemporaryDirectory(prefix="kb-upload-") as folder:
        path = Path(folder) / f"{stem[:80]}{UPLOAD_SUFFIX[kind]}"
        path.write_bytes(content)
        return add_document(pipeline, str(path), **metadata)


def remove_document(pipeline: Pipeline, doc_id: str) -> str:
    """Remove a document's passages; a user document is forgotten, a registry one returns on ingest."""
    catalogue = pipeline.store.catalogue
    user = {source.id: source for source in catalogue.user_sources()}
    if catalogue.document(doc_id) is None and doc_id not in user:
        raise NotFoundError(f"no document with id '{doc_id}' (see `kb list`)")
    pipeline.store.remove_document(doc_id)
    pipeline.store.refresh_keyword_index()
    if doc_id in user:
        catalogue.remove_user_source(doc_id)
        if user[doc_id].path:
            Path(user[doc_id].path).unlink(missing_ok=True)
        return f"removed {doc_id}"
    return (f"removed {doc_id} from the index; it is in the source registry, so `kb ingest` "
            "will bring it back")


def _keep_copy(path: Path, doc_id: str, settings: Settings) -> Path:
    """Copy a user's file into the data directory (atomically), so it survives the original."""
    settings.user_files_dir.mkdir(parents=True, exist_ok=True)
    target = settings.user_files_dir / f"{doc_id}{path.suffix.lower()}"
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(path, partial)
    partial.replace(target)
    return target


def _name_of(target: str) -> str:
    """A readable name for a URL or path, used when no title is known."""
    stem = Path(urlparse(target).path if is_url(target) else target).stem
    return stem.replace("-", " ").replace("_", " ").strip() or target
