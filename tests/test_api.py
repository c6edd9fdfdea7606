"""The KnowledgeBase facade on small documents we write: real Chroma in tmp_path, the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.api import KnowledgeBase, SearchFilters
from kb.errors import NotFoundError, StoreError, UsageError
from kb.types import AddResult, Document, DocumentDone, IngestReport, StageStarted

RULES = """# Drone rules

## Registration

Every drone heavier than 250 grams must be registered with the aviation authority before its first flight.

## Night flights

Flying a drone at night requires a green flashing light visible from one kilometre.
"""

HELMETS = "Bicycle helmets\n\nChildren under twelve must wear a helmet when cycling on public roads.\n"


@pytest.fixture
def kb(settings, embedder, tmp_path):
    """A knowledge base with an empty registry, sharing the session's model."""
    registry = tmp_path / "sources.toml"
    registry.write_text("", encoding="utf-8")
    with KnowledgeBase.open(settings.home, embedder=embedder, sources_file=registry) as kb:
        yield kb


def write(folder: Path, name: str, text: str) -> str:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_opening_reads_nothing_heavy_and_an_empty_base_has_no_documents(settings):
    with KnowledgeBase.open(settings.home) as kb:
        assert kb.documents() == []
        assert not kb.embedder_loaded  # listing needs no model
        with pytest.raises(NotFoundError, match="no document with id 'drones'"):
            kb.document("drones")


def test_add_gives_a_typed_document_its_passages_and_an_outline(kb, tmp_path):
    events = []
    result = kb.add(write(tmp_path / "in", "drones.md", RULES), doc_id="drones",
                    url="https://example.org/drones", jurisdiction="XX", date="2024-01-01",
                    on_event=events.append)
    assert isinstance(result, AddResult) and result.status == "ingested"
    assert result.summary() == f"added drones: {result.passages} passages"
    assert [e.stage for e in events if isinstance(e, StageStarted)] == ["parsing", "embedding"]
    document = kb.document("drones")
    assert isinstance(document, Document)
    assert (document.title, document.jurisdiction, document.origin) == ("Drone rules", "XX", "user")
    assert document.passages == result.passages == len(kb.passages("drones"))
    assert set(document.to_json()) >= {"doc_id", "title", "passages", "sha256", "fetched_from"}
    assert "version" not in document.to_json()
    json.dumps(document.to_json())  # JSON-ready
    locator = kb.locators("drones")[0]
    assert "green flashing" in " ".join(p.text for p in kb.passages("drones", locator))
    parts = kb.outline("drones")
    assert [p.passage_id for part in parts for p in part.passages] == [
        p.passage_id for p in kb.passages("drones")]
    with pytest.raises(NotFoundError, match="'Article 9' not found in drones"):
        kb.passages("drones", "Article 9")


def test_search_ask_and_filters_go_through_the_facade(kb, tmp_path):
    kb.add(write(tmp_path / "in", "drones.md", RULES), doc_id="drones", jurisdiction="XX")
    kb.add(write(tmp_path / "in", "helmets.txt", HELMETS), title="Helmet notes", jurisdiction="YY")
    results = kb.search("Do I have to register my drone?", k=3)
    assert results.hits[0].passage.doc_id == "drones" and "250 grams" in results.hits[0].passage.text
    only_helmets = kb.search("Do I have to register my drone?", filters=SearchFilters(jurisdiction="YY"))
    assert {hit.passage.doc_id for hit in only_helmets.hits} == {"helmet-notes"}
    answer = kb.ask("Must children wear a helmet when cycling?", backend="extractive")
    assert answer.mode == "extractive" and answer.citations
    assert answer.citations[0].passage.doc_id == "helmet-notes"
    with pytest.raises(UsageError, match="question is empty"):
        kb.ask_stream("   ", backend="extractive")


def test_remove_keeps_catalogue_vectors_and_keyword_index_in_step(kb, tmp_path):
    kb.add(write(tmp_path / "in", "drones.md", RULES), doc_id="drones")
    kb.add(write(tmp_path / "in", "helmets.txt", HELMETS), title="Helmet notes")
    assert kb.doctor().healthy
    assert kb.remove("drones") == "removed drones"
    assert [d.doc_id for d in kb.documents()] == ["helmet-notes"]
    health = kb.doctor()
    assert health.healthy and health.vectors == health.passages == kb.document("helmet-notes").passages
    assert {hit.passage.doc_id for hit in kb.search("register a drone").hits} == {"helmet-notes"}
    with pytest.raises(NotFoundError):
        kb.remove("drones")


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(kb, settings, embedder, tmp_path):
    drones = write(tmp_path / "in", "drones.md", RULES)
    with KnowledgeBase.open(settings.home, embedder=embedder, sources_file=kb.settings.sources_file) as other:
        def add_meanwhile(event):
            if isinstance(event, StageStarted) and event.stage == "embedding":
                with pytest.raises(StoreError, match="another kb command is changing"):
                    other.add(write(tmp_path / "in", "helmets.txt", HELMETS))
        kb.add(drones, on_event=add_meanwhile)
        assert [d.doc_id for d in other.documents()] == ["drone-rules"]


def test_ingest_reports_each_document_and_refresh_does_no_work_when_nothing_changed(kb, tmp_path):
    kb.add(write(tmp_path / "in", "drones.md", RULES), doc_id="drones")
    events = []
    report = kb.ingest(on_event=events.append)
    assert isinstance(report, IngestReport) and not report.failed
    assert [(r.doc_id, r.status) for r in report.results] == [("drones", "unchanged")]
    assert report.summary() == (f"0 ingested, 1 unchanged, 0 skipped, 0 failed; "
                                f"{kb.document('drones').passages} passages live")
    assert [e.result.doc_id for e in events if isinstance(e, DocumentDone)] == ["drones"]
    assert kb.refresh("drones").results[0].status == "unchanged"
    with pytest.raises(NotFoundError, match="unknown document id: nope"):
        kb.refresh("nope")


def test_an_upload_is_added_by_what_its_bytes_are(kb):
    result = kb.add_upload("notes.md", RULES.encode(), jurisdiction="XX")
    assert kb.document(result.doc_id).parser == "markdown"
    assert "250 grams" in kb.passages(result.doc_id)[0].text
    with pytest.raises(UsageError):
        kb.add("ftp://example.org/file.pdf")


def test_locate_finds_the_place_a_reference_names(kb, tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "eurlex_2024_min.html"
    kb.add(str(fixture), doc_id="widget-act", url="https://eur-lex.europa.eu/eli/reg/2099/1/oj")
    locator = kb.locators("widget-act")
    article = next(loc for loc in locator if loc.startswith("Article "))
    place = kb.locate(article.split("(")[0])
    assert place.doc_id == "widget-act" and place.locator.startswith(article.split("(")[0])
    with pytest.raises(UsageError, match="names no provision"):
        kb.locate("hello there")


def test_recital_explanations_pair_a_recital_with_a_provision(settings, embedder, tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "eurlex_2024_min.html"
    registry = tmp_path / "sources.toml"
    registry.write_text("", encoding="utf-8")
    # Threshold 0: every recital is linked to its nearest provision, whatever this fixture's wording.
    with KnowledgeBase.open(settings.home, embedder=embedder, sources_file=registry,
                            recital_link_min_similarity=0.0) as kb:
        kb.add(str(fixture), doc_id="widget-act", url="https://eur-lex.europa.eu/eli/reg/2099/1/oj")
        recitals = {p.passage_id for p in kb.passages("widget-act") if p.kind == "recital"}
        pairs = kb.recital_explanations()
    assert recitals and {recital.passage_id for recital, _ in pairs} == recitals
    assert all(provision.kind in ("article", "paragraph", "point") for _, provision in pairs)


def test_the_catalogue_and_python_share_one_containment_rule(kb, tmp_path):
    from kb.catalogue import Catalogue
    from kb.types import matches_locator

    fixture = Path(__file__).parent / "fixtures" / "eurlex_2024_min.html"
    kb.add(str(fixture), doc_id="widget-act", url="https://eur-lex.europa.eu/eli/reg/2099/1/oj")
    passages = kb.passages("widget-act")
    catalogue = Catalogue(kb.settings.catalogue_path)
    wanted = {p.locator.split("(")[0].split(",")[0] for p in passages} | {p.locator for p in passages}
    for locator in sorted(wanted) + ["ARTICLE 1", "Article 1 "]:
        inside = [p for p in passages if matches_locator(p.locator, locator)]
        assert catalogue.vector_ids_inside("widget-act", locator) == [
            f"{p.passage_id}@{kb.document('widget-act').version}" for p in inside], locator
        first = catalogue.first_passage_at("widget-act", [locator])
        assert (first is None) == (not inside), locator
    catalogue.close()
