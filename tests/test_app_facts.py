"""The app shows what the catalogue knows about provisions: dates of application, definitions,
cross-references (issue 17), with streamlit.testing's AppTest on the small real store."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb.api import KnowledgeBase
from tests.test_app import app, open_read, own_home  # noqa: F401 - fixtures and helpers


def plain(markdown: str) -> str:
    """Shown text without the escapes that keep document text from being read as markup."""
    return markdown.replace("\\", "")


def texts(at: AppTest) -> str:
    return plain("\n".join(element.value for element in [*at.markdown, *at.caption, *at.warning]))


@pytest.fixture
def dated_home(own_home: Path) -> Path:  # noqa: F811 - the fixture imported above
    """The small store with a date of application for every Widget Act passage, as ingest keeps
    one for the AI Act's provisions from Article 113."""
    with sqlite3.connect(own_home / "catalogue.sqlite3") as db:
        version, = db.execute("SELECT version FROM documents WHERE doc_id='widget-act'").fetchone()
        ids = [row[0] for row in db.execute("SELECT DISTINCT passage_id FROM passages WHERE doc_id='widget-act'")]
        db.executemany("INSERT OR REPLACE INTO application_dates VALUES (?,?,?,?,?)",
                       [("widget-act", version, pid, "2099-08-02", "Article 9") for pid in ids])
    return own_home


def ask_on(at: AppTest, day: date, question: str) -> AppTest:
    at.run()
    next(box for box in at.selectbox if box.label == "Written by").set_value("extractive")
    next(box for box in at.date_input if box.label == "Law as it stood on").set_value(day)
    return at.chat_input[0].set_value(question).run(timeout=120)


@pytest.mark.slow  # the answer depends on the real model's retrieval, not the hashing stand-in
def test_the_date_picker_defaults_to_today_and_dates_the_answer(app):  # noqa: F811
    at = app().run()
    picker = next(box for box in at.date_input if box.label == "Law as it stood on")
    assert picker.value == date.today()
    at = ask_on(at, date(2098, 3, 1), "What is a widget?")
    assert not at.exception and not at.error
    assert "law as it stood on 2098-03-01" in texts(at)


@pytest.mark.slow  # the answer depends on the real model's retrieval, not the hashing stand-in
def test_a_provision_not_yet_applicable_on_the_chosen_day_is_flagged(app, dated_home):  # noqa: F811
    at = ask_on(app(dated_home), date(2099, 3, 1), "What is a widget?")
    assert not at.exception and not at.error
    flags = [plain(w.value) for w in at.warning if "Not yet applicable" in w.value]
    assert flags and flags[0] == "Not yet applicable on 2099-03-01 (applies from 2099-08-02 (Article 9))"
    at = ask_on(at, date(2099, 9, 1), "What is a widget?")
    latest = at.chat_message[-1]  # the first answer stays above, in the history
    assert not [w for w in latest.warning if "Not yet applicable" in w.value]
    assert "Applies from 2099-08-02 (Article 9)" in [plain(c.value) for c in latest.caption]


@pytest.mark.slow  # the answer depends on the real model's retrieval, not the hashing stand-in
def test_the_answer_lists_the_definitions_it_uses_with_links(app):  # noqa: F811
    at = ask_on(app(), date.today(), "What is a widget?")
    assert not at.exception and not at.error
    shown = texts(at)
    assert "**Definitions of the terms used**" in shown
    assert "‘widget’ means a device" in shown
    links = [link.proto.query_string for link in at.page_link]
    assert any("doc=widget-act" in q and "locator=Article+2" in q for q in links)


# Read ------------------------------------------------------------------------------------------

def read_links(at: AppTest) -> dict[str, str]:
    """Label -> query string of the links to Read on the page."""
    return {plain(link.label): link.proto.query_string for link in at.page_link}


def test_read_shows_the_terms_a_provision_uses_linked_to_their_definition(app, dated_home):  # noqa: F811
    at = open_read(app(dated_home), doc="widget-act", locator="Article 3")
    assert not at.exception and not at.error
    shown = texts(at)
    assert "Applies from 2099-08-02 (Article 9)" in shown
    assert "**Defined terms used**" in shown
    links = read_links(at)
    assert links["‘widget’, defined in Article 2"] == "doc=widget-act&locator=Article+2"
    # Article 9 does not exist in the Widget Act: the reference is shown, not linked.
    assert "**Refers to**" in shown and "Article 9 (not in the knowledge base)" in shown


def test_read_links_a_reference_to_an_act_outside_the_corpus_to_its_official_text(app):  # noqa: F811
    at = open_read(app(), doc="widget-act", locator="Recital 2")
    assert not at.exception and not at.error
    outside = [m.value for m in at.markdown if "not in the knowledge base" in m.value]
    assert outside and "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32098L0007" in outside[0]


def test_read_links_the_passages_of_other_documents_that_refer_to_a_provision(app, own_home, embedder):  # noqa: F811
    guidance = own_home / "widget-guidance.md"
    guidance.write_text("# Widget guidance\n\n## Kitchens\n\nArticle 3 of Regulation (EU) 2099/1 applies to "
                        "every kitchen widget sold to restaurants.\n", encoding="utf-8")
    with KnowledgeBase.open(own_home, embedder=embedder, sources_file=own_home / "sources.toml") as kb:
        kb.add(str(guidance), doc_id="widget-guidance", doc_type="guidelines")
    at = open_read(app(own_home), doc="widget-act", locator="Article 3")
    assert not at.exception and not at.error
    assert "**Referred to by**" in texts(at)
    by = {label: query for label, query in read_links(at).items() if label.startswith("widget-guidance")}
    assert list(by.values()) == ["doc=widget-guidance&locator=Widget+guidance"]
    # and from there, the reference leads back to the Widget Act
    at = open_read(app(own_home), doc="widget-guidance", locator="Widget guidance")
    assert read_links(at)["Article 3 of Regulation (EU) 2099/1 → widget-act, Article 3"] == (
        "doc=widget-act&locator=Article+3")


# Overview --------------------------------------------------------------------------------------

def test_overview_draws_when_each_documents_provisions_apply(app, dated_home):  # noqa: F811
    with sqlite3.connect(dated_home / "catalogue.sqlite3") as db:
        db.execute("UPDATE documents SET status='revoked', status_date='2024-06-01', "
                   "status_note='withdrawn by the publisher' WHERE doc_id='drones'")
    at = app(dated_home).run()
    at.switch_page("ui/overview.py").run()
    assert not at.exception and not at.error
    assert "When the provisions apply" in [s.value for s in at.subheader]
    charts = [chart.proto for chart in at.get("vega_lite_chart")]
    assert any('"point"' in chart.spec for chart in charts)  # the timeline, not a bar chart
    table = at.dataframe[-1].value
    rows = {(r.doc_id, str(r.date), r.event): r for r in table.itertuples()}
    widget = rows[("widget-act", "2099-08-02", "applies from")]
    assert widget.basis == "Article 9" and widget.passages > 1
    assert rows[("drones", "2024-06-01", "revoked")].basis == "withdrawn by the publisher"
    assert len(table) == 2


def test_overview_says_so_when_no_dates_are_known(app):  # noqa: F811
    at = app().run()
    at.switch_page("ui/overview.py").run()
    assert not at.exception and not at.error
    assert "No dates of application are known for these documents." in [c.value for c in at.caption]


# Search ----------------------------------------------------------------------------------------

def test_search_hits_link_the_question_terms_definitions_and_their_references(app):  # noqa: F811
    at = app().run()
    at.switch_page("ui/search.py").run()
    next(box for box in at.multiselect if box.label == "Documents").set_value(["widget-act"]).run()
    at.text_input[1].set_value("May widgets be used for remote identification?").run()
    assert not at.exception and not at.error
    # Article 3(1) uses 'widget' (defined in Article 2) and points to Article 9, which the act lacks.
    assert any("defined terms" in e.label and "references" in e.label for e in at.expander)
    links = read_links(at)
    assert links["widget: Article 2"] == "doc=widget-act&locator=Article+2"
    assert "Article 9 (not in the knowledge base)" in texts(at)
