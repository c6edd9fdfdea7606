"""Two kb processes at once: writers are kept apart with a clear message, and a search running
while another process re-ingests sees every document, in its old or its new version, never a mix."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from kb.api import KnowledgeBase
from tests.reliability import REPO, kb_command, kb_env, run_kb, write_documents, write_mirror
from tests.test_crash import generation

pytestmark = pytest.mark.subprocess  # a second kb process

_VERSION = re.compile(r"\((?:drone rules|lift safety|helmet notes) (v\d)\)")


def test_a_second_writer_process_is_refused_with_a_clear_message(settings, embedder, tmp_path):
    first, second = write_documents(tmp_path / "docs")[:2]
    attempts = []

    def second_writer(event):  # called while this process's add holds the write lock
        if not attempts:
            attempts.append(run_kb(settings.home, "add", str(second)))

    with KnowledgeBase(settings, embedder=embedder) as kb:
        added = kb.add(str(first), on_event=second_writer)
        [refused] = attempts
        assert refused.returncode == 6, refused.stderr
        assert refused.stderr.strip() == (f"Error: another kb command is changing {settings.home}; "
                                          "wait for it to finish")
        assert [document.doc_id for document in kb.documents()] == [added.doc_id]
        health = kb.doctor()  # takes the lock: free again once the first writer is done
        assert health.healthy and (health.documents, health.passages) == (1, added.passages)


def test_searches_during_a_reingest_see_every_document_in_one_version(settings, embedder, tmp_path):
    mirror = tmp_path / "mirror"
    registry = write_mirror(mirror, "v1")
    with KnowledgeBase.open(settings.home, embedder=embedder, mirror=mirror,
                            sources_file=registry) as kb:  # a reader that stays open
        kb.ingest()

        query = "registration inspection helmets rules"
        baseline = kb.search(query, k=10).best_similarity
        write_mirror(mirror, "v2")
        initial = generation(settings.home)
        writer = subprocess.Popen(kb_command("ingest", "--mirror", str(mirror)), cwd=REPO,
                                  env=kb_env(settings.home, KB_SOURCES_FILE=str(registry)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Each search with the catalogue generation read before and after it: every document that
        # goes live (a switch) bumps the generation once.
        seen: list[tuple[int, int, dict[str, set[str]], float]] = []
        while writer.poll() is None or not seen:
            before = generation(settings.home)
            results = kb.search(query, k=10)
            after = generation(settings.home)
            versions: dict[str, set[str]] = {}
            for hit in results.hits:
                versions.setdefault(hit.passage.doc_id, set()).update(_VERSION.findall(hit.passage.text))
            seen.append((before, after, versions, results.best_similarity))
            time.sleep(0.01)
        assert writer.wait() == 0, writer.stderr.read()
        final = generation(settings.home)
        assert final - initial == len(seen[0][2]) == 3  # one switch per document
        mixed = [versions for _, _, versions, _ in seen if any(len(v) != 1 for v in versions.values())]
        assert mixed == []
        # Only searches that ran wholly between the first switch and the last met a store holding
        # some documents new and others old: the state this test is about.
        between = [(versions, best) for before, after, versions, best in seen if initial < before and after < final]
        assert len(between) >= 3, f"only {len(between)} searches ran between the first and the last switch"
        # Every document in every search, a switched one in its new version: the keyword index
        # the writer saves only at the end is not waited for, and the vectors it added are seen.
        assert [sorted(versions) for versions, _ in between] == [["drones", "helmets", "lifts"]] * len(between)
        assert any("v2" in set().union(*versions.values()) for versions, _ in between)
        assert seen[0][2] and all(v == {"v1"} for v in seen[0][2].values())
        # The versions differ only in their marker, so the best match is about as close as before.
        # It counts only the vectors of live passages: a reader blind to the vectors another process
        # wrote scores only the documents not yet switched, and 0 once all are.
        assert [best for _, best in between if abs(best - baseline) > 0.05] == []
        final_results = kb.search(query, k=10)
        assert {_VERSION.findall(hit.passage.text)[0] for hit in final_results.hits} == {"v2"}
        assert final_results.best_similarity == pytest.approx(baseline, abs=0.05)
