"""A revoked or replaced document says so wherever it is cited: the reference, the JSON, the CLI's
search, ask, show and list, and the app's Ask, Search and Read pages. A small registry of our own
(no real corpus needed): an order revoked, a memo replaced by its successor, a law in force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from kb.api import KnowledgeBase
from kb.cli import cli
from tests.conftest import REPO

ORDER = """## Purpose

Every federal agency shall test each widget it buys for overheating before using it.

## Reporting

Agencies shall report overheated widgets to the Widget Safety Board within thirty days.
"""
OLD_MEMO = """## Inventories

Agencies shall publish an inventory of their widgets every year.
"""
NEW_MEMO = """## Inventories

Agencies shall publish an inventory of their widgets every two years.
"""
REVOKED_NOTE = "Revoked by the Widget Freedom Order of 20 January 2025."
REPLACED_NOTE = "Rescinded and replaced by the second edition of 3 April 2025."


def registry_entry(doc_id: str, title: str, path: Path, **extra: str) -> str:
    lines = ["[[document]]", f'id = "{doc_id}"', f'title = "{title}"',
             f'canonical_url = "https://example.org/{doc_id}"', f'path = "{path}"', 'jurisdiction = "XX"']
    return "\n".join(lines + [f'{key} = "{value}"' for key, value in extra.items()]) + "\n"


@pytest.fixture(scope="module")
def status_home(tmp_path_factory, embedder) -> Path:
    """A data directory whose registry holds a revoked order, a replaced memo and its successor."""
    home = tmp_path_factory.mktemp("status") / "kb-home"
    home.mkdir()
    entries = []
    for doc_id, title, text, extra in [
            ("widget-order", "Executive Order on Safe Widgets", ORDER,
             {"status": "revoked", "status_date": "2025-01-20", "status_note": REVOKED_NOTE}),
            ("widget-memo-1", "Memorandum on Widget Procurement", OLD_MEMO,
             {"status": "replaced", "status_date": "2025-04-03", "status_note": REPLACED_NOTE,
              "replaced_by": "widget-memo-2"}),
            ("widget-memo-2", "Memorandum on Widget Procurement, second edition", NEW_MEMO, {})]:
        (home / f"{doc_id}.md").write_text(text, encoding="utf-8")
        entries.append(registry_entry(doc_id, title, home / f"{doc_id}.md", **extra))
    (home / "sources.toml").write_text("\n".join(entries), encoding="utf-8")
    with KnowledgeBase.open(home, embedder=embedder, sources_file=home / "sources.toml") as kb:
        report = kb.ingest()
    assert [r.status for r in report.results] == ["ingested"] * 3, report.summary()
    return home


@pytest.fixture
def in_status_home(status_home, use_home) -> Path:
    """KB_HOME and KB_SOURCES_FILE point at the status home; `kb` uses the session's model."""
    return use_home(status_home)


def plain(markdown: str) -> str:
    """Text the app showed, without the escapes that keep Markdown from reading it as markup."""
    return markdown.replace("\\", "")


def kb(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_references_and_search_json_carry_the_status(in_status_home):
    hits = {hit["doc_id"]: hit for hit in json.loads(kb("search", "widget inventories", "--json").stdout)}
    assert hits["widget-memo-1"]["status"] == "replaced"
    assert hits["widget-memo-1"]["replaced_by"] == "widget-memo-2"
    assert hits["widget-memo-1"]["status_note"] == REPLACED_NOTE
    assert hits["widget-memo-2"]["status"] == "" and hits["widget-memo-2"]["status_note"] == ""
    with KnowledgeBase.open(in_status_home) as base:
        [order] = base.passages("widget-order", "Purpose")
        [memo] = base.passages("widget-memo-1", "Inventories")
        [successor] = base.passages("widget-memo-2", "Inventories")
    assert order.reference() == "Executive Order on Safe Widgets, Purpose (revoked 2025-01-20)"
    assert memo.reference() == "Memorandum on Widget Procurement, Inventories (replaced by widget-memo-2)"
    assert successor.reference() == "Memorandum on Widget Procurement, second edition, Inventories"


def test_search_and_show_print_the_note(in_status_home):
    found = kb("search", "testing widgets for overheating", "--doc", "widget-order").output
    assert "revoked 2025-01-20: " + REVOKED_NOTE in found
    shown = kb("show", "widget-order", "Purpose").output
    assert REVOKED_NOTE in shown.split("overheating")[0]  # the note comes before the text
    outline = kb("show", "widget-memo-1").output
    assert "replaced by widget-memo-2: " + REPLACED_NOTE in outline
    assert "replaced" not in kb("show", "widget-memo-2").output


def test_list_shows_the_status_of_each_document(in_status_home):
    lines = {line.split()[0]: line for line in kb("list").output.splitlines()[1:]}
    assert lines["widget-order"].endswith("[revoked 2025-01-20]")
    assert lines["widget-memo-1"].endswith("[replaced by widget-memo-2]")
    assert "[" not in lines["widget-memo-2"]
    documents = {d["doc_id"]: d for d in json.loads(kb("list", "--json").stdout)}
    assert documents["widget-order"]["status_note"] == REVOKED_NOTE


@pytest.mark.slow  # its answer depends on what the real model finds close
def test_an_answer_citing_a_revoked_document_says_so(in_status_home):
    question = "Must agencies test widgets for overheating?"
    answer = json.loads(kb("ask", question, "--backend", "extractive", "--doc", "widget-order", "--json").stdout)
    assert answer["citations"], answer
    for citation in answer["citations"]:
        assert citation["status"] == "revoked" and citation["status_note"] == REVOKED_NOTE
        assert citation["reference"].endswith("(revoked 2025-01-20)")
    printed = kb("ask", question, "--backend", "extractive", "--doc", "widget-order").stdout
    assert "(revoked 2025-01-20)" in printed and REVOKED_NOTE in printed


# The app ---------------------------------------------------------------------------------------

@pytest.fixture
def app(in_status_home):
    """An AppTest of app.py on the status home."""
    import ui.common

    address = st.get_option("server.address")
    st.config.set_option("server.address", "localhost")
    ui.common._open_kb.clear()  # st.cache_resource lives as long as the process
    yield lambda: AppTest.from_file(str(REPO / "app.py"), default_timeout=30)
    ui.common._open_kb.clear()
    st.config.set_option("server.address", address)


def warnings(at: AppTest) -> list[str]:
    return [plain(warning.value) for warning in at.warning]


def open_read(at: AppTest, doc_id: str) -> AppTest:
    """The Read page opened on a document, as a link to it would open it."""
    at.run().switch_page("ui/read.py")
    at.query_params["doc"] = doc_id
    return at.run()


def test_search_page_warns_next_to_a_hit_from_a_replaced_document(app):
    at = app().run().switch_page("ui/search.py").run()
    at.text_input[1].set_value("widget inventories").run()
    assert not at.exception
    assert any(REPLACED_NOTE in text and "replaced by widget-memo-2" in text for text in warnings(at)), warnings(at)
    assert len([text for text in warnings(at) if REPLACED_NOTE in text]) == 1  # the successor has none


def test_read_page_warns_about_a_revoked_document(app):
    revoked = open_read(app(), "widget-order")
    assert not revoked.exception
    assert any(REVOKED_NOTE in text for text in warnings(revoked)), warnings(revoked)
    assert not warnings(open_read(app(), "widget-memo-2"))


@pytest.mark.slow  # its answer depends on what the real model finds close
def test_ask_page_warns_next_to_a_citation_of_a_revoked_document(app, monkeypatch):
    monkeypatch.setenv("KB_LLM_BACKEND", "extractive")
    at = app().run()  # the app opens on Ask
    at.sidebar.multiselect[0].select("widget-order").run()
    at.chat_input[0].set_value("Must agencies test widgets for overheating?").run(timeout=120)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any(REVOKED_NOTE in text for text in warnings(at)), [m.value for m in at.markdown]
