"""The running app in a real browser: Debian's Chromium, driven by Playwright, asks a question and
gets an answer (the real local model) with a citation linking to the official text, searches,
and opens the Corpus page."""

from __future__ import annotations

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
