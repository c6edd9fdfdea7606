"""The test tiers' own rules (tests/tiers.py, tests/hypothesis_profile.py): under CI a test whose
real documents are missing fails instead of skipping, and Hypothesis is derandomized, databaseless."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import settings

from tests.conftest import REPO

pytestmark = pytest.mark.subprocess  # a pytest run of its own

NEEDS_CORPUS = """
import pytest

@pytest.mark.corpus
@pytest.mark.skipif(True, reason="as a test that skips for want of the documents")
def test_on_the_real_documents():
    pass
"""


def run_pytest(folder, **env: str) -> subprocess.CompletedProcess:
    test = folder / "test_needs_corpus.py"
    test.write_text(NEEDS_CORPUS, encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "KB_TEST_CORPUS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
                           str(REPO / "pyproject.toml"), "--rootdir", str(REPO), str(test)],
                          cwd=REPO, env={**environment, **env}, capture_output=True, text=True, timeout=120)


def test_under_ci_a_missing_corpus_fails_the_test_instead_of_skipping_it(tmp_path):
    result = run_pytest(tmp_path, CI="true", KB_TEST_CORPUS=str(tmp_path / "nowhere"))
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout and "skipped" not in result.stdout  # failed in setup
    assert f"CI must run this test, but the real documents are not at {tmp_path / 'nowhere'}" in result.stdout


def test_outside_ci_it_skips(tmp_path):
    result = run_pytest(tmp_path, KB_TEST_CORPUS=str(tmp_path / "nowhere"))
    assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout


def test_hypothesis_is_derandomized_and_keeps_nothing_in_the_checkout():
    from hypothesis.configuration import storage_directory

    assert settings.default.derandomize and settings.default.database is None
    assert not storage_directory(intent_to_write=False).home_directory.is_relative_to(REPO)
