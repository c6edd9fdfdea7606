"""`kb doctor` finds each way the catalogue, Chroma and the keyword index can disagree, and repairs it.

Each test breaks a real store behind the store's back (Chroma's collection, the keyword files,
the catalogue) the way a crash, a disk problem or a changed setting would.
"""
# Breaks a store behind its back, so it opens a Store below the KnowledgeBase door (kb/api.py) on purpose.

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from kb.api import KnowledgeBase
from kb.cli import cli
from kb.search import search
from kb.store import Store
from tests.reliability import write_documents


@pytest.fixture(scope="session")
def template_home(tmp_path_factory, embedder):
    """A data directory holding the three small documents, built once and copied for each test."""
    folder = tmp_path_factory.mktemp("doctor")
    with KnowledgeBase.open(folder / "kb-home", embedder=embedder) as kb:
        for path in write_documents(folder / "docs"):
            kb.add(str(path))
        return kb.home


@pytest.fixture
def store(settings, template_home, monkeypatch):
    """A copy of the template store, and KB_HOME pointing at it for the CLI."""
    shutil.copytree(template_home, settings.home)
    monkeypatch.setenv("KB_HOME", str(settings.home))
    return Store(settings)


def doctor(*args: str):
    """Exit code and JSON report of `kb doctor --json`."""
    result = CliRunner().invoke(cli, ["doctor", "--json", *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def problems(report: dict) -> list[str]:
    return [finding["problem"] for finding in report["findings"] if not finding["repaired"]]


def test_a_healthy_store_passes_with_exit_code_0(store):
    code, report = doctor()
    assert (code, report["healthy"], report["findings"]) == (0, True, [])
    assert report["documents"] == 3 and report["passages"] == report["vectors"] > 3
    text = CliRunner().invoke(cli, ["doctor"]).output
    assert text.startswith("ok: 3 documents") and "agree" in text


def test_orphan_vectors_are_found_and_deleted(store, embedder):
    live = store.catalogue.passages("drone-rules-alpha")[:2]
    vectors = embedder.embed([p.text for p in live])
    # What a crash leaves: vectors of a version that never went live, and of a removed document.
    store.add_vectors("drone-rules-alpha", "deadbeef", {}, live, vectors)
    store.add_vectors("gone-doc", "v1", {}, live[:1], vectors[:1])
    code, report = doctor()
    assert code == 1 and problems(report) == ["orphan-vectors", "orphan-vectors"]
    assert {f["doc_id"] for f in report["findings"]} == {"drone-rules-alpha", "gone-doc"}
    lines = CliRunner().invoke(cli, ["doctor"]).output.splitlines()
    assert "problem: 2 vectors of 'drone-rules-alpha' belong to no live version" in lines[0] + lines[1]
    code, report = doctor("--repair")
    assert code == 0 and [f["repaired"] for f in report["findings"]] == [True, True]
    assert store.vector_count() == report["passages"] == report["vectors"]
    assert doctor() == (0, {**report, "findings": []})


def test_missing_vectors_are_re_embedded_from_the_catalogue_text(store, embedder):
    ids = store.catalogue.vector_ids("lift-safety-alpha")
    before = store.collection.get(ids=ids, include=["embeddings"])
    original = dict(zip(before["ids"], before["embeddings"], strict=False))
    store.collection.delete(ids=ids[:2])
    code, report = doctor()
    assert code == 1 and problems(report) == ["missing-vectors"]
    assert report["findings"][0]["message"].startswith(f"2 of {len(ids)} passages of 'lift-safety-alpha'")
    code, report = doctor("--repair")
    assert code == 0 and report["findings"][0]["repaired"]
    after = store.collection.get(ids=ids, include=["embeddings"])
    assert sorted(after["ids"]) == sorted(ids)
    for vector_id, vector in zip(after["ids"], after["embeddings"], strict=False):
        assert np.allclose(vector, original[vector_id], atol=1e-5)  # exactly what ingest made
    hits = search(store, embedder, "how often must a lift be checked", k=1).hits
    assert hits[0].passage.doc_id == "lift-safety-alpha"


@pytest.mark.parametrize("damage", ["delete pointer", "delete build", "corrupt files", "stale"])
def test_a_damaged_keyword_index_is_found_and_rebuilt(store, embedder, damage):
    folder = store.keyword.folder
    build = next(folder.glob("build-*"))
    if damage == "delete pointer":
        (folder / "current.json").unlink()
    elif damage == "delete build":
        for path in build.iterdir():
            path.unlink()
    elif damage == "corrupt files":
        for path in build.iterdir():
            path.write_bytes(b"\x00garbage" * 10)
    else:  # a crash between the catalogue switch and the rebuild
        with store.catalogue.transaction() as db:
            db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
    code, report = doctor()
    assert code == 1 and problems(report) == ["keyword-index"], report
    code, report = doctor("--repair")
    assert code == 0 and report["findings"][0]["repaired"]
    assert doctor()[0] == 0
    hits = store.keyword.search("helmet cycling children", k=3)
    assert hits and hits[0][0].startswith("helmet-notes-alpha:")


def test_another_embedding_model_is_reported_with_the_command_that_fixes_it(store):
    with store.catalogue.transaction() as db:
        db.execute("UPDATE documents SET embed_model = 'e5-large' WHERE doc_id = 'helmet-notes-alpha'")
    code, report = doctor("--repair")
    assert code == 1 and problems(report) == ["embed-model"]
    assert "kb ingest --force --only helmet-notes-alpha" in report["findings"][0]["message"]


def test_vectors_of_another_dimension_are_reported(store, tmp_path, monkeypatch):
    model = tmp_path / "wide-model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
         {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 768}))
    monkeypatch.setenv("KB_EMBED_MODEL", str(model))
    code, report = doctor()
    assert code == 1 and "dimension" in problems(report)
    message = next(f["message"] for f in report["findings"] if f["problem"] == "dimension")
    assert "384-dimensional" in message and "768" in message


def test_an_empty_knowledge_base_is_healthy(settings, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(settings.home))
    assert doctor() == (0, {"healthy": True, "documents": 0, "passages": 0, "vectors": 0,
                            "findings": []})
