"""The real corpus end to end: `kb ingest --mirror ../shared/corpus`, then what a user checks.

Each test runs on a data directory holding the documents it is about (`corpus_home_for` in
tests/conftest.py: ingested once per session with the real model into a real Chroma store), not on
all 26: `make run` and the benchmarks ingest the whole corpus.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from kb.api import KnowledgeBase
from kb.cli import cli
from tests.conftest import REPO

REGISTRY = REPO / "corpus" / "sources.toml"


def kb(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


LAWS = ("eu-ai-act", "gdpr")
# Search runs among the documents that compete with the laws for the questions below (the
# Commission's guidelines, NIST's profile repeating GOVERN 1.1 and naming Colorado, OECD's and the
# guidelines' AI system definitions) and the US documents the filters pick out.
SEARCHED = LAWS + ("ec-guidelines-prohibited-ai-practices", "ec-guidelines-ai-system-definition",
                   "oecd-ai-recommendation", "nist-ai-rmf", "nist-ai-600-1", "us-eo-14110", "omb-m-24-10",
                   "omb-m-25-21")
# The Llama licences and policies share family names ("Llama 3.1"); the GDPR is there to be told apart.
LICENCES = ("llama-3-1-community-license", "llama-3-1-acceptable-use-policy", "llama-4-community-license",
            "llama-4-acceptable-use-policy", "gdpr")


def use_home(corpus_home_for, monkeypatch, doc_ids: tuple[str, ...]):
    home = corpus_home_for(*doc_ids).home
    monkeypatch.setenv("KB_HOME", str(home))
    return home


@pytest.fixture
def in_home(corpus_home_for, monkeypatch):
    """KB_HOME is a data directory with the AI Act and the GDPR."""
    return use_home(corpus_home_for, monkeypatch, LAWS)


@pytest.fixture
def in_searched(corpus_home_for, monkeypatch):
    """KB_HOME is a data directory with the SEARCHED documents."""
    return use_home(corpus_home_for, monkeypatch, SEARCHED)


@pytest.fixture
def in_licences(corpus_home_for, monkeypatch):
    """KB_HOME is a data directory with the LICENCES documents."""
    return use_home(corpus_home_for, monkeypatch, LICENCES)


def locators(doc_id: str) -> list[str]:
    return json.loads(kb("show", doc_id, "--json").stdout)["locators"]


def numbers(found: list[str], pattern: str) -> set[str]:
    return {m.group(1) for loc in found if (m := re.match(pattern, loc))}


def test_registry_documents_missing_from_the_mirror_are_skipped_with_a_notice(corpus_home_for, manifest):
    from ingest.sources import load_registry

    online_only = tuple(sorted({source.id for source in load_registry(REGISTRY)} - set(manifest)))
    assert online_only, "the registry keeps documents the mirror lacks (UNESCO, Council of Europe, ...)"
    report = corpus_home_for("roost-community", *online_only).report
    assert report["roost-community"]["status"] == "ingested" and report["roost-community"]["passages"] > 0
    assert {doc_id for doc_id, r in report.items() if r["status"] == "skipped"} == set(online_only)
    assert all("mirror" in report[doc_id]["message"] for doc_id in online_only)


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


# Known regressions since the corpus grew from 8 to 26 documents (search, kb/search.py): strict, so
# each turns into a failure, to be removed, once search handles it again.
def test_emotion_recognition_at_work_finds_article_5(in_searched):
    hits = json.loads(kb("search", "Can my employer use emotion recognition on me at work?",
                         "--json").stdout)
    article5 = [h for h in hits if h["doc_id"] == "eu-ai-act" and h["locator"].startswith("Article 5")]
    assert article5, [h["locator"] for h in hits]
    assert article5[0]["url"] == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj#art_5"


@pytest.mark.parametrize("doc_ids", [SEARCHED, LICENCES], ids=["laws-and-pdfs", "licences"])
def test_passages_fit_the_encoder_and_link_to_their_place(corpus_home_for, embedder, doc_ids):
    with KnowledgeBase.open(corpus_home_for(*doc_ids).home, embedder=embedder) as knowledge_base:
        documents = knowledge_base.documents()
        for document in documents:
            passages = knowledge_base.passages(document.doc_id)
            assert len(passages) == document.passages
            sizes = embedder.count_tokens([p.text for p in passages])
            assert max(sizes) <= 256 - 2, document.doc_id
            assert all(p.url.startswith(document.canonical_url) for p in passages)
            if document.content_type == "application/pdf":
                assert all(re.search(r"#page=\d+$", p.url) for p in passages), document.doc_id
        assert knowledge_base.vector_count() == sum(d.passages for d in documents)


def test_list_json_reports_metadata_and_provenance(in_searched, manifest):
    documents = {d["doc_id"]: d for d in json.loads(kb("list", "--json").stdout)}
    assert set(documents) == set(SEARCHED)
    for doc_id in SEARCHED:
        entry = manifest[doc_id]
        assert documents[doc_id]["canonical_url"] == entry["canonical_url"]
        assert documents[doc_id]["sha256"] == entry["sha256"]
        assert documents[doc_id]["passages"] > 0 and documents[doc_id]["fetched_from"] == "mirror"


def test_show_a_provision_prints_its_text_and_link(in_home):
    shown = kb("show", "gdpr", "Article 22")
    assert shown.exit_code == 0
    assert "automated processing" in shown.output and "#art_22" in shown.output


def test_second_ingest_does_no_work(in_home, shared_corpus):
    only = [option for doc_id in LAWS for option in ("--only", doc_id)]
    again = json.loads(kb("ingest", "--mirror", str(shared_corpus), *only, "--json").stdout)
    assert [(r["doc_id"], r["status"]) for r in again] == [(doc_id, "unchanged") for doc_id in LAWS]


# Hybrid retrieval ---------------------------------------------------------------------------------

@pytest.fixture
def library(in_searched, embedder):
    with KnowledgeBase.open(in_searched, embedder=embedder) as knowledge_base:
        yield knowledge_base.search


@pytest.mark.parametrize("query, doc_id, locator", [
    ("Art. 22 GDPR", "gdpr", "Article 22"),
    ("what does recital 47 of the GDPR say about legitimate interests", "gdpr", "Recital 47"),
    ("Annex III point 4", "eu-ai-act", "Annex III, point 4"),
    ("Article 6(1)(a) GDPR", "gdpr", "Article 6(1)(a)"),
])
def test_a_named_provision_comes_first(library, query, doc_id, locator):
    from kb.search import matches_locator

    first = library(query, k=5).hits[0].passage
    assert first.doc_id == doc_id and matches_locator(first.locator, locator), first.locator


def test_a_provision_named_without_document_is_ranked_across_documents(library):
    hits = library("Article 5", k=5).hits
    assert {hit.passage.doc_id for hit in hits[:2]} == {"eu-ai-act", "gdpr"}
    assert all(hit.passage.locator.startswith("Article 5") for hit in hits[:2])


def test_a_named_document_is_preferred_over_a_close_passage_of_another(library):
    query = "How does the OECD define an AI system?"
    # Without the preference another document's definition (NIST's, the Commission's) comes first here.
    neutral = library(query, k=3, overrides={"other_document_weight": 1.0}).hits
    assert neutral[0].passage.doc_id != "oecd-ai-recommendation"
    hits = library(query, k=3).hits
    assert [hit.passage.doc_id for hit in hits] == ["oecd-ai-recommendation"] * 3


def test_a_matching_recital_brings_its_provision_just_above_it(library):
    # Recital 44 gives the reasons for the ban on emotion recognition at work, Article 5(1)(f).
    hits = [hit.passage.locator for hit in library(
        "serious concerns about the scientific basis of AI systems that identify or infer emotions", k=5).hits]
    assert "Recital 44" in hits and "Article 5(1)(f)" in hits, hits
    assert hits.index("Article 5(1)(f)") == hits.index("Recital 44") - 1, hits


def test_keywords_find_what_meaning_alone_misses(library):
    hits = library("GOVERN 1.1 legal and regulatory requirements", k=5).hits
    assert any(hit.passage.doc_id == "nist-ai-rmf" and "GOVERN 1.1" in hit.passage.text for hit in hits)


def test_filters_limit_documents_jurisdiction_and_dates(library):
    from kb.search import SearchFilters

    only_gdpr = library("consent", k=10, filters=SearchFilters(doc_ids=("gdpr",))).hits
    assert only_gdpr and {hit.passage.doc_id for hit in only_gdpr} == {"gdpr"}
    us = library("risk management", k=10, filters=SearchFilters(jurisdiction="US")).hits
    assert us and {hit.passage.metadata["jurisdiction"] for hit in us} == {"US"}
    assert "nist-ai-rmf" in {hit.passage.doc_id for hit in us}
    recent = library("personal data protection", k=20, filters=SearchFilters(since="2020-01-01")).hits
    assert recent and not {"gdpr", "oecd-ai-recommendation"} & {hit.passage.doc_id for hit in recent}


def test_filters_and_caps_on_the_command_line(in_searched):
    capped = json.loads(kb("search", "personal data", "--max-per-doc", "1", "-k", "5", "--json").stdout)
    doc_ids = [hit["doc_id"] for hit in capped]
    assert len(doc_ids) == len(set(doc_ids))
    unknown = kb("search", "consent", "--doc", "no-such-doc")
    assert unknown.exit_code == 3 and "no-such-doc" in unknown.stderr
    bad_date = kb("search", "consent", "--since", "last year")
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.stderr


@pytest.mark.parametrize("query, flagged", [
    ("What's a good recipe for banana bread?", True),
    # NIST AI 600-1's references name a "Colorado Technology Law Journal": a bibliography entry,
    # which does not make the corpus cover Colorado's law.
    ("What does the Colorado AI Act require from deployers?", True),
    ("Which AI practices are banned in the EU?", False),
    ("How long may a company keep my personal data?", False),
])
def test_no_good_match_signal(library, query, flagged):
    results = library(query, k=5)
    assert results.no_good_match is flagged, (results.best_similarity, results.unknown_names)
    assert results.hits, "the nearest passages are still returned"


def test_hits_are_passage_sized_and_one_per_place(library):
    hits = library("high-risk AI systems obligations of providers", k=20).hits
    assert max(len(hit.passage.text) for hit in hits) <= 1500
    places = [(hit.passage.doc_id, hit.passage.locator) for hit in hits]
    assert len(places) == len(set(places))


def test_kb_eval_reports_recall_and_misses(in_home, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "question": "Can my employer use emotion recognition at work?", "doc_id": "eu-ai-act",
         "locators": ["Article 5(1)(f)", "Recital 44"], "answerable": True},
        {"id": "b", "question": "Art. 17 GDPR", "doc_id": "gdpr", "locators": ["Article 17"], "answerable": True},
        {"id": "c", "question": "Who won the 2022 FIFA World Cup final?", "doc_id": None, "locators": [],
         "answerable": False},
    ]), encoding="utf-8")
    report = json.loads(kb("eval", str(questions), "--json").stdout)
    assert report["answerable"] == 2 and report["unanswerable"] == 1
    assert report["recall_at_5"] == 1.0 and report["mrr_at_10"] > 0.5
    assert report["unanswerable_flagged"] == 1.0
    assert report["latency_p50_ms"] > 0


def test_kb_eval_shows_where_a_missed_gold_passage_sits_before_fusion(in_home, tmp_path):
    questions = tmp_path / "q.jsonl"
    # Asked in the words of GDPR Article 20(1), but the gold is put elsewhere: a sure miss.
    questions.write_text(json.dumps(
        {"id": "words", "question": "receive the personal data in a structured, commonly used and "
         "machine-readable format and transmit those data to another controller",
         "doc_id": "gdpr", "locators": ["Article 99"], "answerable": True}), encoding="utf-8")
    report = json.loads(kb("eval", str(questions), "--json").stdout)
    [miss] = report["misses"]
    assert miss["id"] == "words" and miss["first"] == "gdpr Article 20(1)"
    assert {"meaning_rank", "keyword_rank", "gold_similarity"} <= set(miss)
    text = kb("eval", str(questions)).stdout
    assert "gold passage before fusion: meaning " in text and ", keywords " in text


def test_gold_ranks_finds_a_passage_asked_in_its_own_words(in_home, embedder):
    from kb.api import Question

    question = Question("t", "right to data portability: receive the personal data in a structured, "
                        "commonly used and machine-readable format and transmit those data to another "
                        "controller", "gdpr", ("Article 20",), True)
    with KnowledgeBase.open(in_home, embedder=embedder) as knowledge_base:
        ranks = knowledge_base.gold_ranks(question)
        # No word of this question is in Article 20, and its meaning is far from it.
        unrelated = knowledge_base.gold_ranks(Question("egg", "How long should I boil an egg?", "gdpr",
                                                       ("Article 20",), True))
    assert ranks["meaning_rank"] <= 3 and ranks["keyword_rank"] <= 3
    assert ranks["gold_similarity"] > 0.5
    assert unrelated["keyword_rank"] is None
    assert unrelated["meaning_rank"] is None or unrelated["meaning_rank"] > 20


# The registry's names, status and the licences' clauses --------------------------------------------

def test_licences_are_cut_along_their_numbered_clauses(in_licences):
    for doc_id in ("llama-3-1-community-license", "llama-4-community-license"):
        found = locators(doc_id)
        assert {"Section 2", "Section 1(a)", "Section 1(b)(i)", "Section 5(c)", "Section 7"} <= set(found), found
    shown = kb("show", "llama-4-community-license", "Section 2")
    assert shown.exit_code == 0 and "700 million monthly active users" in shown.output


def test_go_to_a_provision_by_the_names_people_use(in_licences):
    with KnowledgeBase.open(in_licences) as knowledge_base:
        assert knowledge_base.locate("Section 2 of the Llama 3.1 licence").doc_id == "llama-3-1-community-license"
        assert knowledge_base.locate("Section 1(b)(i) Llama 4 license").locator == "Section 1(b)(i)"
        gdpr = knowledge_base.locate("Article 22 GDPR")
    assert (gdpr.doc_id, gdpr.locator) == ("gdpr", "Article 22")


def test_revoked_and_replaced_documents_say_so_in_the_catalogue(in_searched):
    with KnowledgeBase.open(in_searched) as knowledge_base:
        assert knowledge_base.document("us-eo-14110").status == "revoked"
        assert knowledge_base.document("omb-m-24-10").replaced_by == "omb-m-25-21"
        assert knowledge_base.passages("omb-m-24-10")[0].metadata["status"] == "replaced"
        assert knowledge_base.document("omb-m-25-21").status == ""
