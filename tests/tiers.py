"""Test tiers: markers that say what a test needs beyond this checkout (a pytest plugin, loaded by
`-p tests.tiers` in pyproject.toml).

    corpus      the real documents of ../shared/corpus (given to every test using `shared_corpus`)
    browser     Chromium through Playwright (given to every test using the `page` fixture)
    subprocess  starts other processes: `kb` itself, a model server, a Chroma server
    slow        the real embedding model or the local LLM, for claims about quality

`make test-fast` deselects all four and embeds with the hashing stand-in (KB_EMBED_BACKEND=hash);
`make test` runs everything with the real parts. Under CI (the CI variable set) a corpus or browser
test whose documents or Chromium are missing fails instead of skipping: a green CI run has run them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MARKERS = {
    "corpus": "needs the real documents of ../shared/corpus",
    "browser": "drives Chromium through Playwright",
    "subprocess": "starts other processes (kb, a model server, a Chroma server)",
    "slow": "takes long: the real embedding model or the local LLM (claims about quality), many cases",
}
# A test using one of these fixtures needs what its marker names, whether or not its file says so.
MARKER_OF_FIXTURE = {"shared_corpus": "corpus", "page": "browser"}
# Debian's Chromium, the one .ci/run installs and tests/test_browser.py drives.
CHROMIUM = Path("/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    if os.environ.get("KB_EMBED_BACKEND") == "hash":
        # The fast tier stays fast only if nothing loads the real model behind its back (a
        # fixture that drops KB_* variables, a CLI run in-process): such a test fails, naming why.
        from kb import embedding

        def refuse(self, path) -> None:
            raise AssertionError("this test loads the real embedding model although KB_EMBED_BACKEND=hash: "
                                 "give it the `embedder` fixture, or mark it slow")

        patch = pytest.MonkeyPatch()
        patch.setattr(embedding.SentenceTransformerModel, "__init__", refuse)
        config.add_cleanup(patch.undo)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in MARKER_OF_FIXTURE:
                item.add_marker(MARKER_OF_FIXTURE[fixture])


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_requirement(markers: set[str]) -> str:
    """What a test with these markers needs and this machine lacks; "" when nothing."""
    from tests.conftest import SHARED_CORPUS

    if "corpus" in markers and not (SHARED_CORPUS / "manifest.json").is_file():
        return f"the real documents are not at {SHARED_CORPUS} (set KB_TEST_CORPUS)"
    if "browser" in markers and not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return ""


@pytest.hookimpl(tryfirst=True)  # before the skipif marks and the fixtures that would skip
def pytest_runtest_setup(item: pytest.Item) -> None:
    if under_ci():
        missing = missing_requirement({mark.name for mark in item.iter_markers()})
        if missing:
            pytest.fail(f"CI must run this test, but {missing}", pytrace=False)
