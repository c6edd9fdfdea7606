"""The store keeps Chroma and the catalogue in step: one live version per document, never a mix."""
# Tests the store layer itself, so it builds a Store below the KnowledgeBase door (kb/api.py) on purpose.

import pytest

from ingest.chunk import chunk
from ingest.index import index_passages
from kb.errors import StoreError
from kb.search import search
from kb.store import Store
from kb.types import ParsedDocument, Section, Source, vector_id
from tests.conftest import make_fetched

SOURCE = Source(id="rules", title="Rules", canonical_url="https://example.org/rules", jurisdiction="EU")


def document(*texts: str) -> ParsedDocument:
    articles = [Section(kind="article", locator=f"Article {n}", anchor=f"art_{n}", blocks=[text])
                for n, text in enumerate(texts, start=1)]
    return ParsedDocument(root=Section(kind="document", container=True, children=articles))


def ingest(store, embedder, version, *texts):
    passages = chunk(document(*texts), SOURCE, embedder.count_tokens, 200)
    fetched = make_fetched("|".join(texts).encode(), url=SOURCE.canonical_url)
    index_passages(store, embedder, SOURCE, fetched, version, "text", passages)
    return passages


def test_replacing_a_document_leaves_only_the_new_version(settings, embedder):
    store = Store(settings)
    ingest(store, embedder, "v1", "Bananas must be yellow.", "Apples may be red.")
    ingest(store, embedder, "v2", "Drones must carry a licence plate.")
    assert store.vector_count() == 1
    assert store.catalogue.document("rules")["passages"] == 1
    hits = search(store, embedder, "what colour should bananas be", k=5).hits
    assert [hit.passage.text for hit in hits] == ["Drones must carry a licence plate."]
    assert hits[0].passage.url == "https://example.org/rules#art_1"


def test_vectors_of_a_version_that_never_went_live_are_invisible(settings, embedder):
    store = Store(settings)
    ingest(store, embedder, "v1", "Bananas must be yellow.")
    # A crash after the vectors of v2 were written but before the catalogue switched:
    passages = chunk(document("Bananas must be blue."), SOURCE, embedder.count_tokens, 200)
    store.add_vectors("rules", "v2", {}, passages[:1], embedder.embed(["Bananas must be blue."]))
    hits = search(store, embedder, "banana colour", k=5).hits
    assert [hit.passage.text for hit in hits] == ["Bananas must be yellow."]


def test_remove_document_removes_vectors_and_catalogue_rows(settings, embedder):
    store = Store(settings)
    ingest(store, embedder, "v1", "Bananas must be yellow.")
    store.remove_document("rules")
    assert store.vector_count() == 0
    assert store.catalogue.documents() == []
    assert search(store, embedder, "bananas", k=3).hits == []


def test_second_writer_is_refused_with_a_clear_message(settings):
    first, second = Store(settings), Store(settings)
    with first.writing(), pytest.raises(StoreError, match="another kb command"), second.writing():
        pass


def test_a_reader_sees_a_document_switched_while_the_writer_still_holds_the_lock(settings, embedder):
    # A long-lived reader (the app) and a writer (`kb ingest`): the writer saves the keyword index
    # only when it finishes, so until then the reader's saved build holds the old version's ids.
    reader, writer = Store(settings), Store(settings)
    ingest(writer, embedder, "v1", "Bananas must be yellow.")
    writer.refresh_keyword_index()
    assert [hit.passage.text for hit in search(reader, embedder, "bananas", k=5).hits] == ["Bananas must be yellow."]
    with writer.writing():
        [passage] = ingest(writer, embedder, "v2", "Bananas must be blue.")
        hits = search(reader, embedder, "bananas", k=5).hits
        assert [hit.passage.text for hit in hits] == ["Bananas must be blue."]
        assert [found for found, _ in reader.keyword.search("bananas", 5)] == [vector_id(passage.passage_id, "v2")]
    assert writer.keyword.built_generation() < writer.catalogue.generation()  # the saved build was left alone


def test_a_name_only_a_footnote_or_the_bibliography_mentions_is_unknown(settings, embedder):
    # A question about the Colorado AI Act cannot be answered from a corpus that only lists a
    # "Colorado Technology Law Journal" article among its references.
    store = Store(settings)
    articles = document("Deployers of high-risk systems in Texas must assess their impact.").root.children
    references = Section(kind="section", heading="Appendix B. References", container=True, children=[
        Section(kind="page", locator="page 63", anchor="page=63",
                blocks=["Tufekci, Z. (2015) Algorithmic Harms. Colorado Technology Law Journal."])])
    footnote = Section(kind="footnote", locator="footnote 1", blocks=["See the Utah Code, section 13-2-1."])
    parsed = ParsedDocument(root=Section(kind="document", container=True,
                                         children=[*articles, footnote, references]))
    passages = chunk(parsed, SOURCE, embedder.count_tokens, 200)
    index_passages(store, embedder, SOURCE, make_fetched(b"rules", url=SOURCE.canonical_url), "v1", "text",
                   passages)
    store.refresh_keyword_index()
    for place, query in [("bibliography", "What does the Colorado law require from deployers?"),
                         ("footnote", "What does the Utah law require from deployers?")]:
        results = search(store, embedder, query, k=3)
        assert (results.unknown_names, results.no_good_match) == ([query.split()[3]], True), place
        assert results.hits, "the nearest passages are still returned"
    assert search(store, embedder, "What must deployers in Texas assess?", k=3).unknown_names == []
