"""Test tiers: markers that say what a test needs beyond this checkout (a pytest plugin, loaded by
`-p tests.tiers` in pyproject.toml).

    corpus      the real documents of ../shared/corpus (given to every test using `shared_corpus`)
    browser     Chromium through Playwright (given to every test using the `page` fixture)
    subprocess  starts other processes: `kb` itself, a model server, a Chroma server
    slow        the real embedding model or the local LLM, for claims about quality

`make test-fast` deselects all four and embeds with the hashing stand-in (KB_EMBED_BACKEND=hash);
`make test` runs everything with the real parts.
"""

from __future__ import annotations

import os

import pytest

MARKERS = {
    "corpus": "needs the real documents of ../shared/corpus",
    "browser": "drives Chromium through Playwright",
    "subprocess": "starts other processes (kb, a model server, a Chroma server)",
    "slow": "takes long: the real embedding model or the local LLM (claims about quality), many cases",
}
# A test using one of these fixtures needs what its marker names, whether or not its file says so.
MARKER_OF_FIXTURE = {"shared_corpus": "corpus", "page": "browser"}


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
