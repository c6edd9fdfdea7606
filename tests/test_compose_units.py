"""Legal units in composed answers: a point is quoted under its lead-in, a list whole when it is
what was asked for. Real passages of the AI Act and the GDPR in a real catalogue (tmp_path)."""

from __future__ import annotations

import pytest

from kb.catalogue import Catalogue
from kb.compose import compose_quotes
from tests.conftest import go_live

LEAD_IN = "1. The following AI practices shall be prohibited:"
ARTICLE_5_1 = ["Article 5(1)", *(f"Article 5(1)({letter})" for letter in "abcdefgh")]


@pytest.fixture
def catalogue(tmp_path, acts):
    catalogue = Catalogue(tmp_path / "catalogue.sqlite3")
    go_live(catalogue, acts, "eu-ai-act", "v1")
    go_live(catalogue, acts, "gdpr", "v1")
    yield catalogue
    catalogue.close()


def passage(acts, doc_id: str, locator: str):
    return next(p for p in acts[doc_id][2] if p.locator == locator)


def test_a_single_point_is_quoted_under_its_lead_in(catalogue, acts):
    point = passage(acts, "eu-ai-act", "Article 5(1)(d)")
    quotes = compose_quotes(catalogue, [(point, point.text)])
    assert [q.passage.locator for q in quotes] == ["Article 5(1)", "Article 5(1)(d)"]
    assert quotes[0].text == LEAD_IN
    gdpr = passage(acts, "gdpr", "Article 5(1)(e)")
    assert [q.text for q in compose_quotes(catalogue, [(gdpr, gdpr.text)])] == ["1. Personal data shall be:", gdpr.text]


def test_a_long_lead_in_is_quoted_whole_though_ingest_clips_it(catalogue, acts):
    """Article 27(1)'s lead-in says who must assess fundamental rights; its points only what."""
    point = passage(acts, "eu-ai-act", "Article 27(1)(e)")
    assert point.context.endswith(" …")
    quotes = compose_quotes(catalogue, [(point, point.text)])
    assert [q.passage.locator for q in quotes] == ["Article 27(1)", "Article 27(1)(e)"]
    assert "deployers that are bodies governed by public law" in quotes[0].text
    assert quotes[0].text.endswith("deployers shall perform an assessment consisting of:")


def test_a_quoted_lead_in_brings_its_points(catalogue, acts):
    head = passage(acts, "eu-ai-act", "Article 5(1)")
    quotes = compose_quotes(catalogue, [(head, head.text)])
    assert [q.passage.locator for q in quotes] == [*ARTICLE_5_1, "Article 5(1)"]
    assert quotes[0].text == LEAD_IN
    # The words after the points belong to the unit too.
    assert quotes[-1].text.startswith("Point (h) of the first subparagraph is without prejudice to Article 9")


def test_a_point_whose_lead_in_was_asked_for_brings_the_whole_list(catalogue, acts):
    point = passage(acts, "eu-ai-act", "Article 5(1)(d)")
    quotes = compose_quotes(catalogue, [(point, point.text)], frozenset({("eu-ai-act", "Article 5(1)")}))
    assert [q.passage.locator for q in quotes][:9] == ARTICLE_5_1
    emotions = next(q for q in quotes if q.passage.locator == "Article 5(1)(f)")
    assert emotions.text.endswith("for medical or safety reasons;")  # a short point whole, its exception too


def test_a_question_for_a_date_or_a_verdict_gets_the_quoted_points_not_the_list(catalogue, acts):
    """"When do the obligations of providers of high-risk AI systems apply?" comes close to Article
    16's lead-in; its twelve points answer what providers must do, not when."""
    head = passage(acts, "eu-ai-act", "Article 16")
    point = passage(acts, "eu-ai-act", "Article 16(i)")
    asked = frozenset({("eu-ai-act", "Article 16")})
    whole = compose_quotes(catalogue, [(head, head.text), (point, point.text)], asked)
    assert len(whole) == 13  # an open question: the lead-in and points (a)-(l)
    quotes = compose_quotes(catalogue, [(head, head.text), (point, point.text)], asked, whole_lists=False)
    assert [q.passage.locator for q in quotes] == ["Article 16", "Article 16(i)"]
    assert quotes[0].text == "Providers of high-risk AI systems shall:"


def test_a_long_list_is_not_quoted_whole(catalogue, acts):
    """Article 3's 68 definitions are a catalogue, not an answer: its lead-in stays as it is."""
    head = passage(acts, "eu-ai-act", "Article 3")
    assert head.text.rstrip().endswith(":")
    quotes = compose_quotes(catalogue, [(head, head.text)])
    assert [q.passage.locator for q in quotes] == ["Article 3"]


@pytest.mark.slow  # which words come closer to a question is the real model's claim
@pytest.mark.parametrize("question, asked", [
    ("Which AI practices are banned in the EU?", True),
    ("What practices does the AI Act prohibit?", True),
    ("Can the police use AI to predict from someone's personality traits whether they will commit a crime?",
     False),
])
def test_a_question_asks_for_the_list_when_it_is_closer_to_the_lead_in(acts, embedder, question, asked):
    from kb.answers import lists_asked
    from kb.types import Hit
    from kb.verify import prepare_evidence

    hits = [Hit(rank=1, score=1.0, passage=passage(acts, "eu-ai-act", "Article 5(1)(d)"))]
    evidence, (vector,) = prepare_evidence(hits, embedder, [question])
    found = lists_asked(evidence, vector, embedder, None)
    assert (("eu-ai-act", "Article 5(1)") in found) is asked


@pytest.fixture
def with_guidelines(catalogue, shared_corpus, manifest, embedder):
    """The catalogue with the Commission's guidelines on prohibited practices too (their facts
    read with the registry's names, as ingest does)."""
    from ingest.chunk import chunk
    from ingest.facts import extract_facts
    from ingest.parse import parse
    from ingest.sources import load_registry, registry_aliases
    from kb.config import load_settings
    from tests.conftest import REPO, corpus_document

    sources = load_registry(REPO / "corpus" / "sources.toml")
    source = next(s for s in sources if s.id == "ec-guidelines-prohibited-ai-practices")
    fetched = corpus_document(shared_corpus, manifest, source.id)
    budget = load_settings(home=REPO / ".kb-home-unused").max_passage_tokens
    passages = chunk(parse(fetched, hint=source.parser), source, embedder.count_tokens, budget)
    catalogue.facts.put(source.id, "c1", extract_facts(passages, source, registry_aliases(sources)))
    catalogue.switch_version(source, fetched, "c1", "pdf", passages, "test-model", {})
    return catalogue


def test_related_guidance_leaves_out_footnotes(with_guidelines, acts):
    """The guidelines' footnotes cite Article 5 often ("Article 5(1)(d) AI Act."); the paragraphs
    that interpret it are what a reader wants next to it."""
    from kb.compose import related
    from kb.search_links import is_aside
    from kb.types import Citation

    provisions = [p for p in acts["eu-ai-act"][2] if p.locator.startswith("Article 5(")]
    citing = with_guidelines.passages_by_id([r.passage_id for p in provisions
                                             for r in with_guidelines.facts.referred_by(p.passage_id)])
    assert any(is_aside(p) for p in citing.values())  # footnotes do cite them
    guidance = [c.passage for point in provisions
                for c in related(with_guidelines, [Citation(1, point, point.text)], {point.passage_id}, 2,
                                 "2025-06-01")
                if c.passage.doc_id == "ec-guidelines-prohibited-ai-practices"]
    assert guidance and not any(is_aside(p) for p in guidance)


def test_the_definition_of_a_term_the_question_uses_comes_first(catalogue, acts):
    """Article 5(1)(f) never says "emotion recognition system"; a person asking about one still
    needs Article 3(39), before the definitions of the words the quote uses."""
    from kb.compose import definitions_used
    from kb.types import Citation

    point = passage(acts, "eu-ai-act", "Article 5(1)(f)")
    quoted = [Citation(1, point, point.text)]
    question = "Can my employer use an emotion recognition system on its staff?"
    assert "Article 3(39)" not in [d.passage.locator for d in definitions_used(catalogue, quoted, set(), 2)]
    found = definitions_used(catalogue, quoted, set(), 2, question)
    assert found[0].passage.locator == "Article 3(39)" and found[0].n == 2
    assert found[0].quote.startswith("(39) ‘emotion recognition system’ means")


# On the real store: the Act with the guidelines that paraphrase Article 5 ---------------------

BANNED_IN_OTHER_WORDS = ["Which AI practices are banned in the EU?", "What AI uses are forbidden under the AI Act?",
                         "List the prohibited AI practices"]


@pytest.fixture(scope="module")
def prohibited_kb(corpus_home_for, embedder):
    """The AI Act, the GDPR and the Commission's guidelines on prohibited practices, ingested: with
    the guidelines, only one point of Article 5(1) is among the nearest passages."""
    from kb.api import KnowledgeBase

    home = corpus_home_for("eu-ai-act", "gdpr", "ec-guidelines-prohibited-ai-practices").home
    with KnowledgeBase.open(home, embedder=embedder) as kb:
        yield kb


@pytest.mark.slow
@pytest.mark.parametrize("question", BANNED_IN_OTHER_WORDS)
def test_a_list_question_is_answered_with_the_points_of_article_5_1(prohibited_kb, question):
    answer = prohibited_kb.ask(question, backend="extractive", as_of="2025-06-01")
    assert answer.mode == "extractive"
    assert [c.passage.locator for c in answer.citations[:9]] == ARTICLE_5_1
    assert answer.citations[0].quote == LEAD_IN
    assert answer.text.splitlines()[0].startswith(
        "Regulation (EU) 2024/1689, Article 5(1) (applies from 2 February 2025): “1. The following AI practices")
    emotions = next(c for c in answer.citations if c.passage.locator == "Article 5(1)(f)")
    assert emotions.quote.endswith("for medical or safety reasons;")


@pytest.mark.slow
def test_a_question_about_one_practice_gets_that_point_under_its_lead_in(prohibited_kb):
    answer = prohibited_kb.ask("Can my employer use software that reads my facial expressions to tell "
                               "whether I'm stressed?", backend="extractive")
    locators = [c.passage.locator for c in answer.citations]
    assert locators[:2] == ["Article 5(1)", "Article 5(1)(f)"]
    assert "Article 5(1)(a)" not in locators  # one practice asked about, not the list


@pytest.mark.slow
def test_a_date_question_gets_the_date_not_the_whole_list(prohibited_kb):
    """Asking since when the bans apply comes close to Article 5(1)'s lead-in; the answer is its
    date, not the eight practices again."""
    answer = prohibited_kb.ask("From which date do the bans on AI practices apply?", backend="extractive",
                               as_of="2025-06-01")
    assert answer.mode == "extractive"
    points = [c for c in answer.citations if c.passage.locator.startswith("Article 5(1)(")]
    assert len(points) < 8
    assert "(applies from 2 February 2025)" in answer.text
