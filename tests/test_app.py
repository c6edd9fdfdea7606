"""The Streamlit app, page by page, with streamlit.testing's AppTest on a small real store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from kb.api import ChangeAccess, KnowledgeBase, change_access
from tests.conftest import REPO

APP = str(REPO / "app.py")


@pytest.fixture
def app(small_home, embedder, monkeypatch):
    """A function making an AppTest of app.py on a data directory (the shared one by default)."""
    import ui.common

    for name in [name for name in os.environ if name.startswith("KB_") and name != "KB_EMBED_BACKEND"]:
        monkeypatch.delenv(name)
    # The model is the session's; loading it again would only cost time.
    open_kb = KnowledgeBase.open.__func__
    monkeypatch.setattr(KnowledgeBase, "open", classmethod(
        lambda cls, home=None, **overrides: open_kb(cls, home, **{"embedder": embedder, **overrides})))
    address = st.get_option("server.address")
    st.config.set_option("server.address", "localhost")  # whatever config.toml pytest found

    def make(home: Path = small_home, **env: str) -> AppTest:
        monkeypatch.setenv("KB_HOME", str(home))
        monkeypatch.setenv("KB_SOURCES_FILE", str(home / "sources.toml"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        ui.common._open_kb.clear()  # st.cache_resource lives as long as the process
        return AppTest.from_file(APP, default_timeout=30)

    yield make
    ui.common._open_kb.clear()
    st.config.set_option("server.address", address)


@pytest.fixture
def own_home(small_home, tmp_path) -> Path:
    """A copy of the small store that a test may change, its user documents' kept files included
    (a removal must not delete the shared store's copy)."""
    home = Path(shutil.copytree(small_home, tmp_path / "kb-home"))
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("UPDATE user_sources SET source = replace(source, ?, ?)",
                   (json.dumps(str(small_home))[1:-1], json.dumps(str(home))[1:-1]))
    return home


def open_read(at: AppTest, **params: str) -> AppTest:
    """The Read page with these query parameters, as a link to it would open it."""
    at.run().switch_page("ui/read.py")
    at.query_params.update(params)
    return at.run()


def open_search(at: AppTest) -> AppTest:
    """The Search page (the app opens on Ask)."""
    return at.run().switch_page("ui/search.py").run()


def texts(at: AppTest) -> str:
    return "\n".join(element.value for element in at.markdown)


@pytest.mark.slow  # which card comes first depends on the real model's ranking
def test_search_shows_passage_cards_that_link_to_the_official_text_and_to_read(app):
    at = open_search(app())
    assert not at.exception
    at.text_input[1].set_value("Do I have to register my drone?").run()
    assert not at.exception and not at.error
    assert "250 grams" in texts(at)
    assert at.link_button[0].proto.url.startswith("https://example.org/drones#")
    assert at.page_link[0].value == "Read in context"
    assert "doc=drones" in at.page_link[0].proto.query_string


def test_search_filters_limit_the_documents(app):
    at = open_search(app())
    at.text_input[1].set_value("rules about safety").run()
    jurisdiction = next(box for box in at.selectbox if box.label == "Jurisdiction")
    jurisdiction.set_value("YY").run()
    cards = [m.value for m in at.markdown if m.value.startswith("**1\\.")]
    assert cards and all("Helmet notes" in card for card in cards)


def test_the_reference_box_opens_the_provision_on_the_read_page(app):
    at = open_search(app())
    # Article 3 is short enough to be one passage: the reference to a point in it opens Article 3.
    at.text_input[0].set_value("Art. 3(1)(b) Widget Act")
    at.button[0].click().run()
    assert not at.error
    assert at.query_params == {"doc": "widget-act", "locator": "Article 3"}
    marked = [m.value for m in at.markdown if "you are here" in m.value]
    assert marked == ["**Article 3** · you are here"]
    assert at.link_button[0].proto.url == "https://eur-lex.europa.eu/eli/reg/2099/1/oj#art_3"


def test_an_unknown_reference_is_an_error_message_not_a_traceback(app):
    at = open_search(app())
    at.text_input[0].set_value("Art. 99 Widget Act")
    at.button[0].click().run()
    assert not at.exception
    assert at.error[0].value == "Article 99 was not found in widget-act"


def test_read_opens_at_the_place_in_the_url_and_jumps_along_the_structure(app):
    at = open_read(app(), doc="widget-act", locator="Annex I")
    assert not at.exception and not at.error
    assert at.subheader[0].value.startswith("Annex I High\\-risk widgets")
    assert any("recognise emotions of cooks" in m.value for m in at.markdown)
    box = next(text for text in at.text_input if text.label == "Go to a place")
    box.set_value("Recital 2")
    next(button for button in at.button if button.label == "Go").click().run()
    assert at.query_params["locator"] == "Recital 2"
    assert any("Widget Board" in m.value for m in at.markdown)
    next(button for button in at.button if button.label == "Next part").click().run()
    assert at.subheader[0].value == "Chapter I General provisions › Article 1 Subject matter"


def test_document_text_is_shown_as_text_not_markup(app, own_home, embedder):
    hostile = own_home / "hostile.txt"
    hostile.write_text("Hostile page\n\nClick <img src=x onerror=alert(1)> **now** "
                       "[here](javascript:alert(2)) :red[alarm] $x^2$\n", encoding="utf-8")
    with KnowledgeBase.open(own_home, embedder=embedder, sources_file=own_home / "sources.toml") as kb:
        kb.add(str(hostile), url="javascript:alert(3)")
    at = open_read(app(own_home), doc="hostile-page", locator="Hostile page")
    shown = next(m.value for m in at.markdown if "onerror" in m.value)
    # What a CommonMark renderer (Streamlit's is one) makes of it: the characters, no markup.
    html = MarkdownIt("commonmark").render(shown)
    assert html == ("<p>Click &lt;img src=x onerror=alert(1)&gt; **now** [here](javascript:alert(2)) "
                    ":red[alarm] $x^2$</p>\n")
    assert any("you are here" in m.value for m in at.markdown)
    assert not at.link_button  # a javascript: link is never offered


def test_corpus_table_shows_provenance(app):
    at = app()
    at.run()
    at.switch_page("ui/corpus.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["doc_id"]) == {"widget-act", "drones", "helmet-notes"}
    assert {"sha256", "fetched_at", "canonical_url", "passages"} <= set(table.columns)
    assert table.set_index("doc_id").loc["drones", "canonical_url"] == "https://example.org/drones"


def upload(at: AppTest, name: str, content: bytes, mime: str) -> AppTest:
    at.file_uploader[0].set_value((name, content, mime))
    return next(b for b in at.button if b.label == "Add" and b.proto.form_id == "add-upload").click().run()


def test_upload_adds_a_searchable_document_and_refuses_binary_content(app, own_home):
    at = app(own_home).run()
    at.switch_page("ui/corpus.py").run()
    upload(at, "wind.md", b"# Wind turbines\n\n## Noise\n\nTurbines must stay below 35 decibels "
           b"at night near houses.\n", "text/markdown")
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("added wind\\-turbines\\: ")
    assert "wind-turbines" in set(at.dataframe[0].value["doc_id"])
    # A PNG is refused whatever its name says, and the corpus does not change.
    upload(at, "notes.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "text/markdown")
    assert at.error[0].value == ("notes.md is not a PDF, HTML, Markdown or text file; its content "
                                 "is binary data of another kind")
    assert len(at.dataframe[0].value) == 4


def test_remove_asks_for_confirmation(app, own_home):
    at = app(own_home).run()
    at.switch_page("ui/corpus.py").run()
    next(box for box in at.selectbox if box.key == "remove-doc").set_value("helmet-notes").run()
    next(b for b in at.button if b.label == "Remove…").click().run()
    assert "helmet\\-notes" in at.warning[0].value
    assert "helmet-notes" in set(at.dataframe[0].value["doc_id"])  # not yet
    next(b for b in at.button if b.label == "Yes, remove").click().run()
    assert at.success[0].value == "removed helmet\\-notes"
    assert "helmet-notes" not in set(at.dataframe[0].value["doc_id"])


def test_refresh_reports_what_it_did(app, own_home):
    at = app(own_home).run()
    at.switch_page("ui/corpus.py").run()
    next(box for box in at.selectbox if box.key == "refresh-doc").set_value("drones").run()
    next(b for b in at.button if b.label == "Refresh this document").click().run()
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith("0 ingested, 1 unchanged, 0 skipped, 0 failed; ")
    next(b for b in at.button if b.label == "Refresh all").click().run()
    assert at.success[0].value.startswith("0 ingested, 3 unchanged, 0 skipped, 0 failed; ")


@pytest.fixture
def listening_on_the_network(app):
    st.config.set_option("server.address", "0.0.0.0")  # the app fixture puts the address back


def test_corpus_changes_are_off_beyond_localhost_without_a_token(app, listening_on_the_network):
    at = app().run()
    at.switch_page("ui/corpus.py").run()
    assert "no admin token is set" in at.info[0].value
    assert not at.file_uploader and not at.tabs


def test_corpus_changes_need_the_admin_token(app, listening_on_the_network):
    at = app(KB_ADMIN_TOKEN="s3cret-token").run()
    at.switch_page("ui/corpus.py").run()
    assert not at.file_uploader
    password = next(text for text in at.text_input if "Admin token" in text.label)
    password.set_value("guess").run()
    assert at.error[0].value == "That is not the admin token." and not at.file_uploader
    password.set_value("s3cret-token").run()
    assert at.file_uploader and not at.error


def test_overview_draws_the_corpus_charts(app):
    at = app().run()
    at.switch_page("ui/overview.py").run()
    assert not at.exception
    assert [metric.value for metric in at.metric][:1] == ["3"]
    assert [h.value for h in at.subheader] == ["By jurisdiction", "By year", "By type", "By issuer",
                                               "Passages per document", "When the provisions apply"]
    assert len(at.get("vega_lite_chart")) == 5  # no dates of application in this store: no timeline


def test_a_settings_error_is_shown_with_the_cli_message(app, small_home):
    from kb.cli import cli

    at = app(KB_MAX_PASSAGE_TOKENS="lots").run()
    cli_output = CliRunner().invoke(cli, ["list"]).stderr.strip()
    assert cli_output == f"Error: {at.error[0].value}"
    assert "max_passage_tokens" in at.error[0].value


def test_adding_a_url_on_the_private_network_is_refused(app, own_home):
    at = app(own_home).run()
    at.switch_page("ui/corpus.py").run()
    url = next(text for text in at.text_input if text.label == "URL (http or https)")
    url.set_value("http://169.254.169.254/latest/meta-data/")
    next(b for b in at.button if b.label == "Add" and b.proto.form_id == "add-url").click().run()
    assert at.error[0].value.startswith("http://169.254.169.254/latest/meta-data/ points to a "
                                        "link-local address")
    assert len(at.dataframe[0].value) == 3


@pytest.mark.parametrize("address, token, access", [
    ("localhost", "", ChangeAccess.OPEN), ("127.0.0.1", "", ChangeAccess.OPEN), ("::1", "", ChangeAccess.OPEN),
    ("", "", ChangeAccess.CLOSED), ("0.0.0.0", "", ChangeAccess.CLOSED), ("10.1.2.3", "", ChangeAccess.CLOSED),
    ("localhost", "t", ChangeAccess.TOKEN), ("0.0.0.0", "t", ChangeAccess.TOKEN),
])
def test_who_may_change_the_corpus(address, token, access):
    assert change_access(address, token) is access


# Ask -------------------------------------------------------------------------------------------

def ask(at: AppTest, question: str, backend: str = "extractive") -> AppTest:
    at.run()
    next(box for box in at.selectbox if box.label == "Written by").set_value(backend).run()
    return at.chat_input[0].set_value(question).run(timeout=120)


@pytest.mark.slow  # its answer depends on what the real model finds close
def test_ask_is_the_first_page_and_answers_with_citation_cards(app):
    at = ask(app(), "Do I have to register my drone before flying?")
    assert not at.exception and not at.error
    assert at.title[0].value == "Ask"
    answer = at.chat_message[1].markdown[0].value
    assert "250 grams" in answer and "\\[1\\]" in answer
    cards = [m.value for m in at.markdown if m.value.startswith("**\\[1\\]")]
    assert cards == ["**\\[1\\] Drone rules**"]
    marked = [m.value for m in at.markdown if ":orange-background[" in m.value]
    assert marked and "250 grams" in marked[0]
    assert at.code[0].value == "Drone rules, https://example.org/drones#drone-rules"
    assert any(b.proto.url.startswith("https://example.org/drones#") for b in at.link_button)
    assert "Quoted from the passages" in " ".join(c.value for c in at.caption)
    assert len(at.session_state.chat) == 1


def test_ask_abstains_when_the_corpus_does_not_cover_the_question(app):
    at = ask(app(), "What does the Colorado AI Act require from deployers?")
    assert not at.exception and not at.error
    assert "does not cover this question" in texts(at)
    assert "See also" in texts(at) and not [m for m in at.markdown if ":orange-background[" in m.value]
    at.run()  # the history shows it again, as a notice
    assert "does not cover this question" in at.info[0].value


def test_ask_shows_a_bad_question_as_the_cli_message(app):
    at = ask(app(), "x" * 2500)
    assert at.error[0].value.startswith("the question is 2,500 characters long")


# Ask: a list of questions (issue 17) -------------------------------------------------------------

def answer_file(at: AppTest, name: str, content: bytes, backend: str = "extractive") -> AppTest:
    """Upload a question file on the Ask page and press the button that answers it."""
    at.run()
    next(box for box in at.selectbox if box.label == "Written by").set_value(backend).run()
    next(u for u in at.file_uploader if u.label == "Question file").set_value((name, content, "text/plain")).run()
    return next(b for b in at.button if b.label == "Answer every question").click().run(timeout=120)


def test_a_question_file_is_answered_and_its_report_offered_in_three_formats(app):
    at = answer_file(app(), "checklist.jsonl", b'{"id": "reg", "question": "Must a drone be registered?"}\n'
                                               b'{"id": "kids", "question": "Do children need a helmet?"}\n')
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "2 of 2 questions of checklist\\.jsonl answered" in texts(at)
    table = at.dataframe[0].value
    assert list(table["id"]) == ["reg", "kids"] and set(table["mode"]) <= {"extractive", "abstained"}
    assert [b.label for b in at.download_button] == ["Download JSON lines", "Download Markdown", "Download CSV"]
    at.run()  # the report stays until another file is answered
    assert "2 of 2 questions of checklist\\.jsonl answered" in texts(at)


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"\n  \n", "empty.txt is empty; write one question per line"),
    ("scan.txt", b"%PDF-1.7\n\x00\x01\x02\xff\xfe binary", "scan.txt is not a text file"),
    ("long.txt", b"".join(b"question %d?\n" % n for n in range(101)),
     "long.txt holds 101 questions; the app answers at most 100 at a time"),
    ("bad.jsonl", b'{"id": "a", "question": "ok?"}\n{"id": "a"\n', "bad.jsonl, line 2: not valid JSON"),
])
def test_a_bad_question_file_is_a_clear_message_and_nothing_is_answered(app, name, content, message):
    at = answer_file(app(), name, content)
    assert not at.exception
    assert at.error[0].value.startswith(message), at.error[0].value
    assert not at.dataframe and not at.download_button
