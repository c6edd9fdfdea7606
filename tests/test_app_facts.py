"""The app shows what the catalogue knows about provisions: dates of application, definitions,
cross-references (issue 17), with streamlit.testing's AppTest on the small real store."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_app import app, ask, open_read, own_home  # noqa: F401 - fixtures and helpers


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


def test_the_date_picker_defaults_to_today_and_dates_the_answer(app):  # noqa: F811
    at = app().run()
    picker = next(box for box in at.date_input if box.label == "Law as it stood on")
    assert picker.value == date.today()
    at = ask_on(at, date(2098, 3, 1), "What is a widget?")
    assert not at.exception and not at.error
    assert "law as it stood on 2098-03-01" in texts(at)


def test_a_provision_not_yet_applicable_on_the_chosen_day_is_flagged(app, dated_home):  # noqa: F811
    at = ask_on(app(dated_home), date(2099, 3, 1), "What is a widget?")
    assert not at.exception and not at.error
    flags = [plain(w.value) for w in at.warning if "Not yet applicable" in w.value]
    assert flags and flags[0] == "Not yet applicable on 2099-03-01 (applies from 2099-08-02 (Article 9))"
    at = ask_on(at, date(2099, 9, 1), "What is a widget?")
    latest = at.chat_message[-1]  # the first answer stays above, in the history
    assert not [w for w in latest.warning if "Not yet applicable" in w.value]
    assert "Applies from 2099-08-02 (Article 9)" in [plain(c.value) for c in latest.caption]


def test_the_answer_lists_the_definitions_it_uses_with_links(app):  # noqa: F811
    at = ask_on(app(), date.today(), "What is a widget?")
    assert not at.exception and not at.error
    shown = texts(at)
    assert "**Definitions of the terms used**" in shown
    assert "‘widget’ means a device" in shown
    links = [link.proto.query_string for link in at.page_link]
    assert any("doc=widget-act" in q and "locator=Article+2" in q for q in links)
