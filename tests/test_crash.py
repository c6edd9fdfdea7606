"""SIGKILL at any moment of `kb ingest` or `kb add`, then the same command again, gives exactly the
passages of a clean run: no duplicates, no orphans, and catalogue, Chroma and keyword index agree.

Real `kb` processes are killed with real timing, at moments found by watching the data directory
(vectors written but the catalogue not yet switched; a document just switched), so the kills land
in the writing phase rather than in the model load.
"""
# Checks the store layer after each kill, so it builds Store/Pipeline below the door (kb/api.py) on purpose.

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from ingest.pipeline import Pipeline, add_document
from kb.config import load_settings
from kb.doctor import check
from kb.store import Store
from tests.reliability import REPO, kb_command, kb_env, live_passages, run_kb, write_documents, write_mirror

pytestmark = pytest.mark.subprocess  # kb processes, killed mid-write


def read(database: Path, sql: str) -> int | None:
    """One number from a SQLite file another process is writing; None until it exists."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return None


def generation(home: Path) -> int:
    return read(home / "catalogue.sqlite3", "SELECT value FROM meta WHERE key='generation'") or 0


def vector_writes(home: Path) -> int:
    """Chroma's write counter: it grows as soon as vectors are added."""
    return read(home / "chroma" / "chroma.sqlite3", "SELECT max(seq_id) FROM embeddings_queue") or 0


def start(home: Path, *args: str, **env: str) -> subprocess.Popen:
    with open(home.parent / f"kb-{time.monotonic_ns()}.log", "w") as log:  # the child keeps its own copy
        return subprocess.Popen(kb_command(*args), cwd=REPO, env=kb_env(home, **env),
                                stdout=log, stderr=log)


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], delay: float) -> bool:
    """SIGKILL the process `delay` s after `ready()` first holds; False if it ended before."""
    deadline = time.monotonic() + 300
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the kb process never reached the kill point"
        time.sleep(0.002)
    time.sleep(delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def assert_consistent(home: Path, expected: set) -> None:
    """The data directory holds exactly the expected passages, one vector each, keyword index in step."""
    assert live_passages(home) == expected
    health = check(Store(load_settings(home=home)))
    assert [finding.message for finding in health.findings] == []
    assert health.vectors == health.passages == len(expected)


def test_ingest_killed_while_writing_then_run_again_equals_a_clean_run(tmp_path, settings, embedder):
    mirror, home = tmp_path / "mirror", tmp_path / "home"
    home.mkdir()
    kill_points = [
        # (document version, when to kill): each round changes every document, so there is work.
        ("v1", lambda before: vector_writes(home) > before[1], 0.0),  # vectors in, catalogue not switched
        ("v2", lambda before: generation(home) > before[0], 0.15),  # a document switched; the others
    ]
    killed = 0
    for version, point, delay in kill_points:
        registry = write_mirror(mirror, version)
        before = (generation(home), vector_writes(home))
        process = start(home, "ingest", "--mirror", str(mirror), KB_SOURCES_FILE=str(registry))
        killed += kill_when(process, partial(point, before), delay)
    assert killed == len(kill_points), "an ingest finished before it could be killed"
    again = run_kb(home, "ingest", "--mirror", str(mirror), KB_SOURCES_FILE=str(registry))
    assert again.returncode == 0, again.stderr

    clean = load_settings(home=tmp_path / "clean", mirror=mirror, sources_file=registry)
    Pipeline(clean, Store(clean), embedder=embedder).ingest()
    expected = live_passages(clean.home)
    assert len(expected) == 9 and all("v2" in text for _, _, text in expected)
    assert_consistent(home, expected)


def test_add_killed_while_writing_then_run_again_equals_a_clean_run(tmp_path, settings, embedder):
    document = write_documents(tmp_path / "docs")[0]
    home = tmp_path / "home"
    home.mkdir()
    process = start(home, "add", str(document))
    # Killed as its vectors go in: before or just after the catalogue switched, the registration
    # committed, orphan vectors or a stale keyword index left behind.
    assert kill_when(process, lambda: vector_writes(home) > 0, 0.0)
    again = run_kb(home, "add", str(document))
    assert again.returncode == 0, again.stderr

    clean = load_settings(home=tmp_path / "clean")
    add_document(Pipeline(clean, Store(clean), embedder=embedder), str(document))
    assert_consistent(home, live_passages(clean.home))
    assert [path.name for path in (home / "documents").iterdir()] == ["drone-rules-alpha.md"]


def test_add_again_after_an_add_killed_before_its_document_went_live(settings, embedder, tmp_path):
    # The state a kill during the model load or the embedding leaves: registered, not live.
    document = write_documents(tmp_path / "docs")[1]
    store = Store(settings)
    pipeline = Pipeline(settings, store, embedder=embedder)
    first = add_document(pipeline, str(document))
    store.remove_document(first.doc_id)  # as if the catalogue switch never happened
    assert [source.id for source in store.catalogue.user_sources()] == [first.doc_id]
    again = add_document(pipeline, str(document))
    assert (again.doc_id, again.status, again.passages) == (first.doc_id, "ingested", first.passages)
    assert check(store).findings == []
