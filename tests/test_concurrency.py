"""Two kb processes at once: writers are kept apart with a clear message, and a search running
while another process re-ingests sees each document's old or new version, never a mix."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from ingest.pipeline import Pipeline
from kb.config import load_settings
from kb.search import search
from kb.store import Store
from tests.reliability import REPO, kb_command, kb_env, run_kb, write_documents, write_mirror
from tests.test_crash import generation, vector_writes

pytestmark = pytest.mark.subprocess  # a second kb process

_VERSION = re.compile(r"\((?:drone rules|lift safety|helmet notes) (v\d)\)")


def test_a_second_writer_process_is_refused_with_a_clear_message(settings, tmp_path):
    document = write_documents(tmp_path / "docs")[0]
    store = Store(settings)
    with store.writing():  # this process is the first writer
        refused = run_kb(settings.home, "add", str(document))
    assert refused.returncode == 6, refused.stderr
    assert refused.stderr.strip() == (f"Error: another kb command is changing {settings.home}; "
                                      "wait for it to finish")
    assert store.catalogue.user_sources() == [] and store.vector_count() == 0
    with Store(settings).writing():  # and the lock is free again once the first writer is done
        pass


def test_searches_during_a_reingest_see_one_version_of_each_document(settings, embedder, tmp_path):
    mirror = tmp_path / "mirror"
    registry = write_mirror(mirror, "v1")
    old = load_settings(home=settings.home, mirror=mirror, sources_file=registry)
    store = Store(old)
    Pipeline(old, store, embedder=embedder).ingest()

    write_mirror(mirror, "v2")
    writer = subprocess.Popen(kb_command("ingest", "--mirror", str(mirror)), cwd=REPO,
                              env=kb_env(settings.home, KB_SOURCES_FILE=str(registry)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: list[tuple[bool, dict[str, set[str]]]] = []
    writes_before = vector_writes(settings.home)
    while writer.poll() is None or not seen:
        writing = vector_writes(settings.home) > writes_before and writer.poll() is None
        hits = search(store, embedder, "registration inspection helmets rules", k=10).hits
        versions: dict[str, set[str]] = {}
        for hit in hits:
            versions.setdefault(hit.passage.doc_id, set()).update(_VERSION.findall(hit.passage.text))
        seen.append((writing, versions))
        time.sleep(0.01)
    assert writer.wait() == 0, writer.stderr.read()
    mixed = [versions for _, versions in seen if any(len(v) != 1 for v in versions.values())]
    assert mixed == []
    during = [versions for writing, versions in seen if writing]
    assert len(during) >= 3, f"only {len(during)} searches ran while the writer was writing"
    assert seen[0][1] and all(v == {"v1"} for v in seen[0][1].values())
    final = search(store, embedder, "registration inspection helmets rules", k=10).hits
    assert {_VERSION.findall(hit.passage.text)[0] for hit in final} == {"v2"}
    assert generation(settings.home) > 0
