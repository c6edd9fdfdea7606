"""Screenshots of every page of the real app, for the README: docs/screenshots/<page>.png.

    KB_HOME=<an ingested data dir> python -m scripts.screenshots

Starts `streamlit run app.py` on a free port and drives it with Debian's Chromium
(/usr/bin/chromium) through Playwright.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright.sync_api import Locator, Page, expect, sync_playwright

from scripts.app_server import REPO, running_app

OUTPUT = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
QUESTION = "Can my employer use emotion recognition on me at work?"
ASK = "Which AI practices are banned in the EU?"
VIEWPORT = {"width": 1280, "height": 1000}
ANSWER_VIEWPORT = {"width": 1280, "height": 1800}


def shoot(page: Page, name: str) -> None:
    # Streamlit draws tables and charts after the script has finished: wait for them.
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
    page.wait_for_timeout(2000)
    page.screenshot(path=OUTPUT / f"{name}.png")
    print(f"saved {OUTPUT / name}.png")


def shoot_answer(page: Page) -> None:
    """ask.png: the question and the answer's list of Article 5(1) points, dated; ask-citations.png:
    the citation cards of the first points, each with its date of application and legal basis;
    ask-definitions.png: the definitions of the terms the quotes use, below the cards."""
    # The answer is one line per point of Article 5(1): a tall window shows the whole list.
    page.set_viewport_size(ANSWER_VIEWPORT)
    scroll_to_top(page.get_by_test_id("stChatMessage").first)
    shoot(page, "ask")
    scroll_to_top(page.get_by_text("[1] Regulation (EU) 2024/1689, Article 5(1)", exact=True).first)
    shoot(page, "ask-citations")
    definitions = page.get_by_text("Definitions of the terms used", exact=True)
    expect(definitions).to_be_visible(timeout=30_000)
    scroll_to_top(definitions)
    shoot(page, "ask-definitions")
    page.set_viewport_size(VIEWPORT)


def scroll_to_top(element: Locator) -> None:
    """Scroll the element to the top of the window, below Streamlit's header (which covers it)."""
    element.evaluate("element => { element.style.scrollMarginTop = '80px'; element.scrollIntoView(); }")


def main() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name.startswith("KB_")}
    with tempfile.TemporaryDirectory() as folder, \
            running_app(env, log=Path(folder) / "streamlit.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        question = page.get_by_placeholder("Ask about AI policy", exact=False)
        question.fill(ASK)
        question.press("Enter")
        expect(page.get_by_role("link", name="Official text").first).to_be_visible(timeout=300_000)
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)
        shoot_answer(page)
        page.goto(f"{url}/search")
        query = page.get_by_label("Question or keywords")
        query.fill(QUESTION)
        query.press("Enter")
        expect(page.get_by_role("link", name="Official text").first).to_be_visible(timeout=120_000)
        shoot(page, "search")
        page.goto(f"{url}/read?doc=eu-ai-act&locator=Article+5%281%29%28f%29")
        expect(page.get_by_text("you are here").first).to_be_visible(timeout=30_000)
        page.get_by_text("you are here").first.scroll_into_view_if_needed()
        shoot(page, "read")
        page.goto(f"{url}/corpus")
        expect(page.get_by_role("tab", name="Upload a file")).to_be_visible(timeout=30_000)
        expect(page.locator("[data-testid=stDataFrame] canvas").first).to_be_visible(timeout=30_000)
        shoot(page, "corpus")
        page.goto(f"{url}/overview")
        expect(page.locator(".vega-embed").nth(4)).to_be_visible(timeout=60_000)
        shoot(page, "overview")
        browser.close()


if __name__ == "__main__":
    main()
