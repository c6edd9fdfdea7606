"""`kb show DOC LOCATOR` with the passage's facts: since when it applies, the defined terms it
uses, what it refers to and what refers to it; on the small store plus a hand-written act."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.api import KnowledgeBase
from kb.cli import cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GADGET_URL = "https://eur-lex.europa.eu/eli/reg/2099/2/oj"


@pytest.fixture
def home(small_home, tmp_path, use_home) -> Path:
    """A copy of the small store holding the Gadget Act too, as KB_HOME, opened with the session's model."""
    copy = use_home(Path(shutil.copytree(small_home, tmp_path / "kb-home")))
    with KnowledgeBase.open(copy) as kb:
        kb.add(str(FIXTURES / "eurlex_gadget_facts.html"), doc_id="gadget-act", url=GADGET_URL,
               jurisdiction="EU", doc_type="regulation", date="2099-03-01")
    return copy


def kb(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def shown_facts(*args: str) -> dict:
    result = kb("show", *args, "--json")
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)
    assert len(passages) == 1
    return passages[0]["facts"]


def test_show_json_gives_date_terms_and_both_directions_of_a_reference(home):
    registration = shown_facts("gadget-act", "Article 2")
    assert (registration["applies_from"], registration["applies_from_basis"]) == ("2100-08-02", "Article 4")
    assert registration["status"] == "not yet applicable"
    assert {(d["label"], d["locator"], d["url"]) for d in registration["definitions"]} == {
        ("seller", "Article 1", f"{GADGET_URL}#art_1"), ("gadget", "Article 1", f"{GADGET_URL}#art_1")}
    assert [(r["locator"], r["url"]) for r in registration["referred_by"]] == [("Article 3", f"{GADGET_URL}#art_3")]
    penalties = shown_facts("gadget-act", "Article 3")
    assert [(r["label"], r["locator"], r["url"]) for r in penalties["refers_to"]] == [
        ("Article 2", "Article 2", f"{GADGET_URL}#art_2")]
    assert penalties["definitions"] == []  # "breaches" and "Member States" are not defined terms
    # Chapter I has its own, earlier date; a definition article does not list its own terms.
    definitions = shown_facts("gadget-act", "Article 1")
    assert definitions["applies_from"] == "2100-02-02" and definitions["definitions"] == []


def test_show_prints_the_facts_under_the_passage_with_their_links(home):
    result = kb("show", "gadget-act", "Article 2")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.index("Every seller shall register") < text.index("applies from 2100-08-02 (Article 4)")
    assert f"seller (Article 1)  {GADGET_URL}#art_1" in text
    assert f"referred to by:\n    Article 3  {GADGET_URL}#art_3" in text
    later = kb("show", "gadget-act", "Article 2", "--as-of", "2100-08-02").stdout
    assert "applies on 2100-08-02; applies from 2100-08-02" in later
    wrong = kb("show", "gadget-act", "Article 2", "--as-of", "soon")
    assert wrong.exit_code == 2 and "'soon' is not a date" in wrong.output


def test_references_outside_the_knowledge_base_keep_their_own_link_or_say_so(home):
    prohibitions = shown_facts("widget-act", "Article 3")
    assert [(r["label"], r["url"]) for r in prohibitions["refers_to"]] == [("Article 9", "")]
    assert [d["label"] for d in prohibitions["definitions"]] == ["widget"]
    assert "Article 9  (not in the knowledge base)" in kb("show", "widget-act", "Article 3").stdout
    recital = shown_facts("widget-act", "Recital 2")
    assert recital["refers_to"][0]["url"].startswith("https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:")
    assert recital["applies_from"] == "" and recital["status"] == ""  # the widget act has no schedule


def test_facts_of_states_the_status_on_a_given_day(home, embedder):
    with KnowledgeBase.open(home, embedder=embedder) as knowledge:
        definitions = knowledge.passages("gadget-act", "Article 1")[0]
        registration = knowledge.passages("gadget-act", "Article 2")[0]
        assert knowledge.facts_of(definitions, as_of="2100-03-01").status == "applies"
        assert knowledge.facts_of(registration, as_of="2100-03-01").status == "not yet applicable"
        assert knowledge.facts_of(registration, as_of="2100-08-02").status == "applies"


def test_search_hits_carry_the_question_terms_definitions_and_what_they_refer_to(home):
    result = kb("search", "What penalties do sellers of gadgets face?", "--doc", "gadget-act", "-k", "4", "--json")
    assert result.exit_code == 0, result.output
    hits = {hit["locator"]: hit for hit in json.loads(result.stdout)}
    penalties = hits["Article 3"]
    assert [(r["label"], r["locator"], r["url"]) for r in penalties["refers_to"]] == [
        ("Article 2", "Article 2", f"{GADGET_URL}#art_2")]
    assert penalties["definitions"] == []  # it uses neither of the question's defined terms
    # The question's defined terms that the hit uses, as the hit's own document defines them
    # ("penalties" is not one), in the question's order.
    assert [(d["label"], d["locator"], d["url"]) for d in hits["Article 2"]["definitions"]] == [
        ("seller", "Article 1", f"{GADGET_URL}#art_1"), ("gadget", "Article 1", f"{GADGET_URL}#art_1")]
    assert hits["Article 2"]["refers_to"] == []
    # The definitions article itself is not its own context.
    assert hits["Article 1"]["definitions"] == [] and hits["Article 1"]["refers_to"] == []


def test_search_context_is_the_hit_documents_own_and_shown_in_plain_output(home):
    with KnowledgeBase.open(home) as knowledge:
        results = knowledge.search("gadget seller registration", k=8)
        context = knowledge.search_context("gadget seller registration", results.hits)
    assert [c.passage_id for c in context] == [hit.passage.passage_id for hit in results.hits]
    for hit, around in zip(results.hits, context, strict=True):
        # A definition from another document never explains a hit: its words mean what its act says.
        assert all(d.passage_id.startswith(f"{hit.passage.doc_id}:") for d in around.definitions)
    assert knowledge.search_context("anything", []) == []
    result = kb("search", "gadget seller registration", "--doc", "gadget-act")
    assert result.exit_code == 0, result.output
    hits = result.output.split("\n\n")
    registration = next(hit for hit in hits if "Every seller shall register" in hit)
    assert "defined: gadget (Article 1); seller (Article 1)" in registration  # in the question's order
    # Terms the hit does not use are not explained beside it.
    assert all("defined:" not in hit for hit in hits if "gadget" not in hit.split("\n", 2)[-1].casefold())
    result = kb("search", "penalties for breaches by sellers", "--doc", "gadget-act")
    penalties = next(hit for hit in result.output.split("\n\n") if "lay down penalties" in hit)
    assert "refers to: Article 2" in penalties
