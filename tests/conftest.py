"""Shared fixtures: the real shared corpus when present, fetched-bytes builders, the real model,
and a small store for the app's tests."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import NamedTuple

import pytest

from kb.types import Fetched

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = Path(os.environ.get("KB_TEST_CORPUS", REPO.parent / "shared" / "corpus"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The real documents of ../shared/corpus; skips the test when they are not there."""
    if not (SHARED_CORPUS / "manifest.json").is_file():
        pytest.skip(f"real policy documents not found at {SHARED_CORPUS} (set KB_TEST_CORPUS)")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def manifest(shared_corpus) -> dict[str, dict]:
    """The shared corpus manifest, keyed by document id."""
    entries = json.loads((shared_corpus / "manifest.json").read_text(encoding="utf-8"))
    return {entry["id"]: entry for entry in entries}


def make_fetched(content: bytes, *, url: str = "file:///fixture", content_type: str = "",
                 filename: str = "") -> Fetched:
    """Fetched bytes as a parser receives them."""
    return Fetched.create(content, url=url, final_url=url, content_type=content_type,
                          origin="file", filename=filename)


def fetched_from_file(path: Path, *, content_type: str = "", url: str = "") -> Fetched:
    """Fetched bytes of a file on disk."""
    return make_fetched(path.read_bytes(), url=url or path.as_uri(), content_type=content_type,
                        filename=path.name)


def corpus_document(shared_corpus: Path, manifest: dict, doc_id: str) -> Fetched:
    """A shared-corpus document by id, as the mirror would deliver it."""
    entry = manifest[doc_id]
    return fetched_from_file(shared_corpus / entry["file"], content_type=entry["media_type"],
                             url=entry["canonical_url"])


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings with a fresh data directory, no mirror, and fast network failure."""
    from kb.config import load_settings

    for name in list(os.environ):
        if name.startswith("KB_") and name not in ("KB_TEST_CORPUS", "KB_EMBED_BACKEND"):
            monkeypatch.delenv(name)
    return load_settings(home=tmp_path / "kb-home", http_timeout=2, http_retries=0,
                         http_backoff=0)


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 model, loaded once per test session."""
    from kb.api import load_embedder

    return load_embedder(home=REPO / ".kb-home-unused")


class CorpusHome(NamedTuple):
    """A data directory holding some documents of the shared corpus, and its ingest's report."""

    home: Path
    report: dict[str, dict]  # DocumentResult as JSON, by doc_id


def seed_embeddings(path: Path) -> None:
    """Start from the embedding cache KB_TEST_EMBEDDING_CACHE names, if any: it is keyed by model
    and text, so the stores are the same, only built in seconds instead of minutes."""
    seed = os.environ.get("KB_TEST_EMBEDDING_CACHE")
    if not seed or not Path(seed).is_file():
        return
    source, target = sqlite3.connect(f"file:{seed}?mode=ro", uri=True), sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@pytest.fixture(scope="session")
def corpus_home_for(shared_corpus, tmp_path_factory, embedder):
    """`corpus_home_for("eu-ai-act", "gdpr")`: a data directory with just those registry documents
    ingested from the shared corpus with the real model, built once per session for each set of ids
    (read-only for tests). The embeddings computed for one set seed the next, so a document shared
    by several sets is embedded once. The whole corpus is ingested by `make run` and the benchmarks."""
    from kb.api import KnowledgeBase

    built: dict[frozenset[str], CorpusHome] = {}
    embeddings = tmp_path_factory.mktemp("corpus-embeddings") / "embeddings.sqlite3"
    seed_embeddings(embeddings)

    def build(*doc_ids: str) -> CorpusHome:
        key = frozenset(doc_ids)
        if key not in built:
            home = tmp_path_factory.mktemp("corpus-home")
            with KnowledgeBase.open(home, embedder=embedder, mirror=shared_corpus) as kb:
                cache = kb.settings.embedding_cache_path
                if embeddings.exists():
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(embeddings, cache)
                report = kb.ingest(only=sorted(key))
            shutil.copyfile(cache, embeddings)  # the cache is closed now, its WAL checkpointed
            assert not report.failed, report.summary()
            built[key] = CorpusHome(home, {r["doc_id"]: r for r in report.to_json()})
        return built[key]

    return build


# The AI Act and the GDPR parsed, for catalogue tests ------------------------------------------

@pytest.fixture(scope="session")
def acts(shared_corpus, manifest, embedder):
    """doc_id -> (source, fetched, passages) for the AI Act and the GDPR, parsed and chunked
    (no vectors: for tests of the catalogue and of what is built on it)."""
    from ingest.chunk import chunk
    from ingest.parse import parse
    from ingest.sources import load_registry
    from kb.config import load_settings

    registry = {source.id: source for source in load_registry(REPO / "corpus" / "sources.toml")}
    budget = load_settings(home=REPO / ".kb-home-unused").max_passage_tokens
    read = {}
    for doc_id in ("eu-ai-act", "gdpr"):
        fetched = corpus_document(shared_corpus, manifest, doc_id)
        source = registry[doc_id]
        passages = chunk(parse(fetched, hint=source.parser), source, embedder.count_tokens, budget)
        read[doc_id] = source, fetched, passages
    return read


def go_live(catalogue, acts, doc_id: str, version: str, passages=None) -> None:
    """What ingest does: facts kept with the version, then the version switched live."""
    from ingest.facts import extract_facts

    source, fetched, all_passages = acts[doc_id]
    passages = all_passages if passages is None else passages
    catalogue.facts.put(doc_id, version, extract_facts(passages, source))
    catalogue.switch_version(source, fetched, version, "eurlex", passages, "test-model", {})


# A small store for the app (tests/test_app.py, tests/test_browser.py) -----------------------

DRONES = """# Drone rules

## Registration

Every drone heavier than 250 grams must be registered with the aviation authority before its first flight.

## Night flights

Flying a drone at night requires a green flashing light visible from one kilometre.
"""

HELMETS = "Bicycle helmets\n\nChildren under twelve must wear a helmet when cycling on public roads.\n"


def build_store(home: Path, embedder) -> Path:
    """A data directory with three small documents added as a user would add them."""
    from kb.api import KnowledgeBase

    home.mkdir(parents=True)
    registry = home / "sources.toml"
    registry.write_text("", encoding="utf-8")
    (home / "drones.md").write_text(DRONES, encoding="utf-8")
    (home / "helmets.txt").write_text(HELMETS, encoding="utf-8")
    with KnowledgeBase.open(home, embedder=embedder, sources_file=registry) as kb:
        kb.add(str(FIXTURES / "eurlex_2024_min.html"), doc_id="widget-act",
               url="https://eur-lex.europa.eu/eli/reg/2099/1/oj", jurisdiction="EU",
               issuer="European Union", doc_type="regulation", date="2099-01-01")
        kb.add(str(home / "drones.md"), doc_id="drones", url="https://example.org/drones",
               jurisdiction="XX", issuer="Aviation authority", doc_type="guidance", date="2024-01-01")
        kb.add(str(home / "helmets.txt"), title="Helmet notes", jurisdiction="YY",
               doc_type="guidance", date="2023-05-01")
    return home


@pytest.fixture(scope="session")
def small_home(tmp_path_factory, embedder) -> Path:
    """The small store, built once per session; tests that change it use a copy."""
    return build_store(tmp_path_factory.mktemp("app") / "kb-home", embedder)


@pytest.fixture
def use_home(embedder, monkeypatch):
    """A function pointing KB_HOME and KB_SOURCES_FILE at a data directory, other KB_ settings
    cleared, with every KnowledgeBase opened on the session's model (as `kb` and the app do)."""
    from kb.api import KnowledgeBase

    for name in [name for name in os.environ if name.startswith("KB_") and name != "KB_EMBED_BACKEND"]:
        monkeypatch.delenv(name)
    open_kb = KnowledgeBase.open.__func__
    monkeypatch.setattr(KnowledgeBase, "open", classmethod(
        lambda cls, home=None, **overrides: open_kb(cls, home, **{"embedder": embedder, **overrides})))

    def use(home: Path) -> Path:
        monkeypatch.setenv("KB_HOME", str(home))
        monkeypatch.setenv("KB_SOURCES_FILE", str(home / "sources.toml"))
        return home

    return use
