"""Two chapters of the GPAI Code of Practice that are not in the default corpus (../shared/extra):
a user adds them with `kb add` and finds their commitments and measures by locator."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.api import KnowledgeBase
from kb.cli import cli
from tests.conftest import SHARED_CORPUS

pytestmark = pytest.mark.corpus  # the real PDFs, next to the shared corpus
EXTRA = SHARED_CORPUS.parent / "extra"
CANONICAL_URL = "https://digital-strategy.ec.europa.eu/en/policies/contents-code-gpai"


def kb(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def chapters() -> dict[str, dict]:
    """The extra folder's manifest entries by id; skips when the folder is absent."""
    if not (EXTRA / "manifest.json").is_file():
        pytest.skip(f"the extra chapters are not at {EXTRA}")
    return {entry["id"]: entry for entry in json.loads((EXTRA / "manifest.json").read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def added(chapters, tmp_path_factory, embedder) -> Path:
    """A fresh data directory into which both chapters were added with `kb add`, as a user would."""
    home = tmp_path_factory.mktemp("extra") / "kb-home"
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("KB_") and name != "KB_EMBED_BACKEND"]:
            patch.delenv(name)
        patch.setenv("KB_HOME", str(home))
        open_kb = KnowledgeBase.open.__func__  # the session's model; loading it again only costs time
        patch.setattr(KnowledgeBase, "open", classmethod(
            lambda cls, home=None, **overrides: open_kb(cls, home, **{"embedder": embedder, **overrides})))
        for doc_id, entry in chapters.items():
            result = json.loads(kb("add", str(EXTRA / entry["file"]), "--id", doc_id, "--title", entry["title"],
                                   "--issuer", "European Commission AI Office", "--jurisdiction", "EU",
                                   "--doc-type", entry["doc_type"], "--date", entry["date"],
                                   "--url", entry["canonical_url"], "--json").stdout)
            assert result["status"] == "ingested" and result["passages"] > 0, result
    return home


@pytest.fixture
def in_added(added, monkeypatch) -> Path:
    for name in [name for name in os.environ if name.startswith("KB_") and name != "KB_EMBED_BACKEND"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KB_HOME", str(added))
    return added


def locators(doc_id: str) -> list[str]:
    return json.loads(kb("show", doc_id, "--json").stdout)["locators"]


def test_the_transparency_chapter_is_cut_into_its_commitment_and_measures(in_added):
    found = locators("gpai-code-of-practice-transparency")
    assert {"Commitment 1", "Measure 1.1", "Measure 1.2", "Measure 1.3"} <= set(found), found
    assert not [loc for loc in found if re.match(r"Measure 1\.[4-9]", loc)]
    shown = kb("show", "gpai-code-of-practice-transparency", "Measure 1.1").output
    assert "documentation" in shown.lower()
    assert re.search(re.escape(CANONICAL_URL) + r"#page=\d+", shown), shown


def test_the_safety_and_security_chapter_has_its_ten_commitments_measures_and_appendices(in_added):
    found = set(locators("gpai-code-of-practice-safety-security"))
    commitments = {m.group(1) for loc in found if (m := re.fullmatch(r"Commitment (\d+)", loc))}
    assert commitments == {str(n) for n in range(1, 11)}
    measures = {loc for loc in found if re.fullmatch(r"Measure \d+\.\d+", loc)}
    assert {"Measure 1.1", "Measure 3.5", "Measure 7.1", "Measure 7.7", "Measure 10.2"} <= measures
    assert all(measure.split()[1].split(".")[0] in commitments for measure in measures)
    assert {"Appendix 1.1", "Appendix 1.4", "Appendix 2.1", "Appendix 4.5"} <= found
    assert "Appendix 1.4(1)" in kb("show", "gpai-code-of-practice-safety-security", "Appendix 1.4").output
    shown = kb("show", "gpai-code-of-practice-safety-security", "Measure 7.1").output
    assert "Model Report" in shown or "model report" in shown.lower(), shown[:500]


def test_a_measure_is_found_by_a_reference_naming_its_chapter(in_added):
    with KnowledgeBase.open(in_added) as base:
        place = base.locate("Measure 7.1 gpai-code-of-practice-safety-security")
        assert (place.doc_id, place.locator) == ("gpai-code-of-practice-safety-security", "Measure 7.1")
        place = base.locate("Measure 1.2 of gpai-code-of-practice-transparency")
        assert (place.doc_id, place.locator) == ("gpai-code-of-practice-transparency", "Measure 1.2")
        [passage, *_] = base.passages("gpai-code-of-practice-transparency", "Measure 1.2")
    assert passage.url.startswith(CANONICAL_URL + "#page=")
