"""The real corpus end to end: `kb ingest --mirror ../shared/corpus`, then what a user checks.

Ingests every document of the shared corpus once for this module (a few minutes on 2 cores) with
the real model into a real Chroma store.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from kb.cli import cli


def kb(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def corpus_home(shared_corpus, tmp_path_factory):
    """A data directory holding the whole shared corpus, and the first ingest's report."""
    home = tmp_path_factory.mktemp("corpus-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_HOME", str(home))
        result = kb("ingest", "--mirror", str(shared_corpus), "--json")
        assert result.exit_code == 0, result.output
        yield home, {r["doc_id"]: r for r in json.loads(result.stdout)}


@pytest.fixture
def in_home(corpus_home, monkeypatch):
    monkeypatch.setenv("KB_HOME", str(corpus_home[0]))
    return corpus_home[0]


def locators(doc_id: str) -> list[str]:
    return json.loads(kb("show", doc_id, "--json").stdout)["locators"]


def numbers(found: list[str], pattern: str) -> set[str]:
    return {m.group(1) for loc in found if (m := re.match(pattern, loc))}


def test_every_mirrored_document_is_ingested_and_the_rest_skipped(corpus_home, manifest):
    report = corpus_home[1]
    for doc_id in manifest:
        assert report[doc_id]["status"] == "ingested", report[doc_id]
        assert report[doc_id]["passages"] > 0
    skipped = {doc_id for doc_id, r in report.items() if r["status"] == "skipped"}
    assert skipped == set(report) - set(manifest)
    assert all("mirror" in report[doc_id]["message"] for doc_id in skipped)


def test_ai_act_structure_as_locators(in_home):
    found = locators("eu-ai-act")
    assert numbers(found, r"Article (\d+)\b") == {str(n) for n in range(1, 114)}
    assert numbers(found, r"Recital (\d+)$") == {str(n) for n in range(1, 181)}
    assert len(numbers(found, r"Annex ([IVX]+)\b")) == 13
    assert "Article 5(1)(f)" in found and "Annex III, point 4" in found


def test_gdpr_structure_as_locators(in_home):
    found = locators("gdpr")
    assert numbers(found, r"Article (\d+)\b") == {str(n) for n in range(1, 100)}
    assert numbers(found, r"Recital (\d+)$") == {str(n) for n in range(1, 174)}


def test_emotion_recognition_at_work_finds_article_5(in_home):
    hits = json.loads(kb("search", "Can my employer use emotion recognition on me at work?",
                         "--json").stdout)
    article5 = [h for h in hits if h["doc_id"] == "eu-ai-act" and h["locator"].startswith("Article 5")]
    assert article5, [h["locator"] for h in hits]
    assert article5[0]["url"] == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj#art_5"


def test_passages_fit_the_encoder_and_link_to_their_place(in_home, embedder):
    from kb.config import load_settings
    from kb.store import Store

    store = Store(load_settings(home=in_home))
    for document in store.catalogue.documents():
        passages = store.catalogue.passages(document["doc_id"])
        assert len(passages) == document["passages"]
        sizes = embedder.count_tokens([p.text for p in passages])
        assert max(sizes) <= 256 - 2, document["doc_id"]
        assert all(p.url.startswith(document["canonical_url"]) for p in passages)
        if document["content_type"] == "application/pdf":
            assert all(re.search(r"#page=\d+$", p.url) for p in passages), document["doc_id"]
            assert all(re.match(r"page \d+$", p.locator) for p in passages)
    assert store.vector_count() == sum(d["passages"] for d in store.catalogue.documents())


def test_list_json_reports_metadata_and_provenance(in_home, manifest):
    documents = {d["doc_id"]: d for d in json.loads(kb("list", "--json").stdout)}
    assert set(documents) == set(manifest)
    for doc_id, entry in manifest.items():
        assert documents[doc_id]["canonical_url"] == entry["canonical_url"]
        assert documents[doc_id]["sha256"] == entry["sha256"]
        assert documents[doc_id]["passages"] > 0 and documents[doc_id]["fetched_from"] == "mirror"


def test_show_a_provision_prints_its_text_and_link(in_home):
    shown = kb("show", "gdpr", "Article 22")
    assert shown.exit_code == 0
    assert "automated processing" in shown.output and "#art_22" in shown.output


def test_second_ingest_does_no_work(in_home, shared_corpus):
    again = json.loads(kb("ingest", "--mirror", str(shared_corpus), "--json").stdout)
    assert {r["status"] for r in again} <= {"unchanged", "skipped"}
    assert sum(r["status"] == "unchanged" for r in again) >= 8
