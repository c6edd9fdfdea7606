"""The running app in a real browser: Debian's Chromium, driven by Playwright, asks a question and
gets an answer (the real local model) with a citation linking to the official text, searches,
and opens the Corpus page; answers an uploaded file of questions and downloads the reports."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from scripts.app_server import running_app
from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "test-results"

# CI installs Debian's chromium (.ci/run); Playwright's own browser download is never used.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="module")
def app_url(small_home, tmp_path_factory):
    """The app served by `streamlit run` on a copy of the small store."""
    folder = tmp_path_factory.mktemp("browser")
    home = Path(shutil.copytree(small_home, folder / "kb-home"))
    with running_app({"KB_HOME": str(home), "KB_SOURCES_FILE": str(home / "sources.toml")},
                     log=folder / "streamlit.log") as url:
        yield url


def test_ask_search_then_corpus_in_a_real_browser(page, app_url):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(app_url)
    question = page.get_by_placeholder("Ask about AI policy", exact=False)
    question.wait_for(timeout=30_000)  # Streamlit renders after the page loads
    question.fill("Do I have to register my drone before flying it?")
    question.press("Enter")
    cited = page.get_by_role("link", name="Official text").first
    expect(cited).to_be_visible(timeout=180_000)  # loads both models, then answers
    assert cited.get_attribute("href").startswith("https://example.org/drones#")
    expect(page.get_by_text("[1] Drone rules").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "browser-ask.png", full_page=True)

    page.get_by_role("link", name="Search").click()
    query = page.get_by_label("Question or keywords")
    query.wait_for(timeout=30_000)  # Streamlit renders after the page loads
    query.fill("Do I have to register my drone?")
    query.press("Enter")
    official = page.get_by_role("link", name="Official text").first
    expect(official).to_be_visible(timeout=90_000)  # the first search loads the model
    assert official.get_attribute("href").startswith("https://example.org/drones#")
    expect(page.get_by_text("heavier than 250 grams").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "browser-search.png", full_page=True)

    page.get_by_role("link", name="Corpus").click()
    expect(page.get_by_role("heading", name="Corpus").first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tab", name="Upload a file")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "browser-corpus.png", full_page=True)


def test_a_question_file_is_answered_and_its_reports_download(page, app_url, tmp_path):
    page.goto(app_url)
    page.get_by_text("Answer a list of questions").click(timeout=30_000)  # Streamlit renders after the page loads
    uploader = page.locator("input[type=file]")  # the only file input on the Ask page
    answer = page.get_by_role("button", name="Answer every question")

    scan = tmp_path / "scan.txt"  # a bad file first: a message, nothing answered
    scan.write_bytes(b"%PDF-1.7\n\x00\x01\x02\xff\xfe")
    uploader.set_input_files(scan)
    expect(answer).to_be_enabled(timeout=30_000)
    answer.click()
    refused = page.get_by_text("scan.txt is not a text file")
    expect(refused).to_be_visible(timeout=30_000)

    checklist = tmp_path / "checklist.jsonl"
    checklist.write_text('{"id": "reg", "question": "Do I have to register my drone before flying it?"}\n'
                         '{"id": "kids", "question": "Must children wear a helmet when cycling?"}\n', encoding="utf-8")
    uploader.set_input_files(checklist)
    expect(refused).to_be_hidden(timeout=30_000)  # the rerun the upload started has finished
    answer.click()
    done = page.get_by_text("2 of 2 questions of checklist.jsonl answered")
    expect(done).to_be_visible(timeout=300_000)  # the local model answers both (and may load first)

    reports = {}
    for label, suffix in [("JSON lines", "jsonl"), ("Markdown", "md"), ("CSV", "csv")]:
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Download {label}").click()
        assert download.value.suggested_filename == f"checklist-answers.{suffix}"
        reports[suffix] = Path(download.value.path()).read_text(encoding="utf-8")
    page.screenshot(path=SCREENSHOTS / "browser-question-list.png", full_page=True)
    records = [json.loads(line) for line in reports["jsonl"].splitlines()]
    assert [record["id"] for record in records] == ["reg", "kids"]
    assert any(c["doc_id"] == "drones" for c in records[0]["citations"]), records[0]
    assert "## reg. Do I have to register my drone before flying it?" in reports["md"]
    assert "](https://example.org/drones" in reports["md"]  # citations link to the official text
    rows = list(csv.DictReader(io.StringIO(reports["csv"])))
    assert [row["id"] for row in rows] == ["reg", "kids"] and "https://example.org/drones" in rows[0]["citations"]
