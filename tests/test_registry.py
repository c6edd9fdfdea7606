"""The registry (corpus/sources.toml) against the shared corpus: every mirrored document under
the mirror's own id and canonical_url, the documents' status, and what the mirror lacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.sources import load_registry, registry_aliases
from kb.errors import ConfigError

REGISTRY = Path(__file__).resolve().parent.parent / "corpus" / "sources.toml"
# Registry documents kept for users online; the shared corpus does not hold them.
NOT_MIRRORED = {"unesco-ai-ethics", "coe-ai-convention", "g7-hiroshima-code", "osi-open-source-ai-definition"}


@pytest.fixture(scope="module")
def registry():
    return {source.id: source for source in load_registry(REGISTRY)}


def test_every_mirrored_document_is_in_the_registry_under_the_same_id_and_url(registry, manifest):
    for doc_id, entry in manifest.items():
        assert doc_id in registry, f"{doc_id} of the mirror is missing from {REGISTRY.name}"
        assert registry[doc_id].canonical_url == entry["canonical_url"], doc_id
    assert set(registry) - set(manifest) == NOT_MIRRORED


def test_mirrored_documents_carry_the_mirror_metadata(registry, manifest):
    for doc_id, entry in manifest.items():
        source = registry[doc_id]
        assert (source.title, source.issuer, source.jurisdiction, source.doc_type, source.date) == (
            entry["title"], entry["issuer"], entry["jurisdiction"], entry["doc_type"], entry["date"]), doc_id


def test_revoked_and_replaced_documents_say_so(registry):
    order = registry["us-eo-14110"]
    assert (order.status, order.status_date) == ("revoked", "2025-01-20")
    assert "14148" in order.status_note
    memo = registry["omb-m-24-10"]
    assert (memo.status, memo.replaced_by) == ("replaced", "omb-m-25-21")
    assert "M-25-21" in memo.status_note
    in_force = {doc_id for doc_id, source in registry.items() if not source.status}
    assert in_force == set(registry) - {"us-eo-14110", "omb-m-24-10"}


@pytest.mark.parametrize(("alias", "doc_id"), [
    ("EO 14110", "us-eo-14110"),
    ("AI RMF", "nist-ai-rmf"),
    ("GPAI code", "gpai-code-of-practice-copyright"),
    ("prohibited practices guidelines", "ec-guidelines-prohibited-ai-practices"),
    ("M-24-10", "omb-m-24-10"),
    ("Llama 3.1 license", "llama-3-1-community-license"),
])
def test_aliases_people_use_name_the_document(registry, alias, doc_id):
    assert registry_aliases(list(registry.values()))[alias] == doc_id


def test_documents_the_mirror_lacks_are_skipped_with_a_notice(shared_corpus, settings):
    from kb.api import KnowledgeBase

    with KnowledgeBase(settings.model_copy(update={"mirror": shared_corpus})) as kb:
        results = kb.ingest(only=sorted(NOT_MIRRORED)).results
    assert [(r.status, r.passages) for r in results] == [("skipped", 0)] * len(NOT_MIRRORED)
    assert all(str(shared_corpus) in r.message and "not in the mirror" in r.message for r in results)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(body, encoding="utf-8")
    return path


ENTRY = '[[document]]\nid = "{id}"\ntitle = "T"\ncanonical_url = "https://example.org/{id}"\n'


@pytest.mark.parametrize(("extra", "message"), [
    ('status = "repealed"\nstatus_note = "x"\n', "status must be"),
    ('status = "revoked"\n', "needs a status_note"),
    ('status = "replaced"\nstatus_note = "x"\nreplaced_by = "nowhere"\n', "not a document of the registry"),
    ('aliases = "EO 1"\n', "aliases must be a list"),
    ('aliases = ["", "x"]\n', "aliases must be a list"),
])
def test_a_broken_status_or_alias_is_a_config_error_naming_the_document(tmp_path, extra, message):
    path = write(tmp_path, ENTRY.format(id="old-order") + extra)
    with pytest.raises(ConfigError, match=message) as error:
        load_registry(path)
    assert "old-order" in str(error.value)


def test_a_name_shared_by_a_family_names_no_single_document(tmp_path, registry):
    from kb.search import document_aliases, named_documents

    aliases = registry_aliases(list(registry.values()))
    assert "Llama 4" not in aliases and aliases["Llama 4 license"] == "llama-4-community-license"
    documents = [{"doc_id": s.id, "title": s.title, "issuer": s.issuer, "aliases": json.dumps(list(s.aliases))}
                 for s in registry.values()]
    assert named_documents("What warranty does Meta offer with Llama 4?", documents) == {
        "llama-4-community-license", "llama-4-acceptable-use-policy"}
    assert "Llama 4" not in document_aliases(documents)


# --- what the registry says reaches the catalogue, and search's names --------------------------

def stored(tmp_path, source, locators=("Sec. 4.2(a)",)):
    from kb.catalogue import Catalogue
    from kb.types import Fetched, Passage

    catalogue = Catalogue(tmp_path / "catalogue.sqlite3")
    fetched = Fetched.create(b"%PDF-1.7", url=source.canonical_url, final_url=source.canonical_url,
                             content_type="application/pdf", origin="mirror")
    passages = [Passage(passage_id=f"{source.id}:{n}", doc_id=source.id, title=source.title, locator=locator,
                        url=source.canonical_url, text="text", ordinal=n) for n, locator in enumerate(locators)]
    catalogue.switch_version(source, fetched, "v1", "pdf", passages, "model", {})
    return catalogue


def test_registry_names_and_status_are_stored_with_the_document(tmp_path, registry):
    from kb.references import find_references, parent_locators
    from kb.search import document_aliases

    catalogue = stored(tmp_path, registry["us-eo-14110"])
    try:
        document = catalogue.document("us-eo-14110")
        assert (document["status"], document["status_date"]) == ("revoked", "2025-01-20")
        assert "14148" in document["status_note"]
        # "Go to a provision": the registry's alias names the document, the other spelling finds it.
        reference = find_references("Section 4.2(a) of EO 14110", document_aliases(catalogue.documents()))[0]
        assert reference.doc_id == "us-eo-14110"
        assert catalogue.first_passage_at(reference.doc_id, parent_locators(reference.locator))
    finally:
        catalogue.close()


def test_an_unchanged_document_takes_the_registry_s_new_status(tmp_path, registry):
    from dataclasses import replace

    memo = registry["omb-m-24-10"]
    catalogue = stored(tmp_path, replace(memo, status="", status_note="", replaced_by="", aliases=()))
    try:
        assert catalogue.document(memo.id)["status"] == ""
        catalogue.update_metadata(memo)
        document = catalogue.document(memo.id)
        assert (document["status"], document["replaced_by"]) == ("replaced", "omb-m-25-21")
        assert "M-24-10" in document["aliases"]
    finally:
        catalogue.close()


def test_a_catalogue_from_before_the_status_columns_opens_with_them(tmp_path):
    import sqlite3

    from kb.catalogue import Catalogue

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute("""CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, issuer TEXT,
                   jurisdiction TEXT, doc_type TEXT, date TEXT, canonical_url TEXT, origin TEXT, parser TEXT,
                   version TEXT NOT NULL, sha256 TEXT, fetched_at TEXT, final_url TEXT, content_type TEXT,
                   fetched_from TEXT, passages INTEGER NOT NULL DEFAULT 0, embed_model TEXT, ingested_at TEXT)""")
    old.execute("INSERT INTO documents (doc_id, title, version) VALUES ('gdpr', 'GDPR', 'v1')")
    old.commit()
    old.close()
    catalogue = Catalogue(path)
    try:
        document = catalogue.document("gdpr")
        assert document["title"] == "GDPR" and "status" in document and "aliases" in document
    finally:
        catalogue.close()


def test_every_passage_cited_from_a_revoked_document_carries_its_status(tmp_path, registry):
    catalogue = stored(tmp_path, registry["us-eo-14110"], locators=("Sec. 4.2(a)", "Sec. 4.5"))
    try:
        passages = catalogue.passages("us-eo-14110")
        by_id = catalogue.passages_by_vector_id([f"{p.passage_id}@v1" for p in passages])
        for passage in [*passages, *by_id.values()]:
            assert passage.metadata["status"] == "revoked" and "14148" in passage.metadata["status_note"]
    finally:
        catalogue.close()
    in_force = stored(tmp_path / "gdpr", registry["gdpr"], locators=("Article 22",))
    try:
        assert in_force.passages("gdpr")[0].metadata["status"] == ""
    finally:
        in_force.close()
