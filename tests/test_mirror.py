"""The offline mirror: a folder built in tmp_path, and the real shared corpus."""

from __future__ import annotations

import hashlib
import json

import pytest

from ingest.mirror import Mirror
from kb.config import load_settings
from kb.errors import FetchError

AI_ACT_URL = "https://eur-lex.europa.eu/eli/reg/2024/1689/oj"
README_URL = "https://github.com/huggingface/open-r1"
HTML = b"<html><body><p>Article 1</p></body></html>"
MARKDOWN = b"# Open R1\n\nA fully open reproduction.\n"


@pytest.fixture
def mirror_folder(tmp_path):
    """A two-document mirror laid out like the shared corpus."""
    folder = tmp_path / "mirror"
    entries = []
    for url, name, media_type, content in [
        (AI_ACT_URL, "eu/ai-act.html", "text/html", HTML),
        (README_URL + "/", "open-source/open-r1-readme.md", "text/markdown", MARKDOWN),
    ]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
        entries.append({"id": name.split("/")[-1], "canonical_url": url, "file": name,
                        "media_type": media_type, "bytes": len(content),
                        "sha256": hashlib.sha256(content).hexdigest()})
    (folder / "manifest.json").write_text(json.dumps(entries), encoding="utf-8")
    return folder


def test_a_mirrored_document_comes_with_its_provenance(mirror_folder):
    fetched = Mirror.open(mirror_folder).fetch(AI_ACT_URL)
    assert fetched.content == HTML
    assert fetched.sha256 == hashlib.sha256(HTML).hexdigest()
    assert (fetched.url, fetched.origin) == (AI_ACT_URL, "mirror")
    assert fetched.final_url == str(mirror_folder.resolve() / "eu" / "ai-act.html")
    assert (fetched.content_type, fetched.filename) == ("text/html", "ai-act.html")


def test_lookup_ignores_a_trailing_slash_and_unknown_urls_give_none(mirror_folder):
    mirror = Mirror.open(mirror_folder)
    assert mirror.lookup(AI_ACT_URL + "/")["file"] == "eu/ai-act.html"
    assert mirror.fetch(README_URL).content == MARKDOWN
    assert mirror.lookup("https://example.org/unknown") is None
    assert mirror.fetch("https://example.org/unknown") is None
    assert [entry["file"] for entry in mirror.entries()] == ["eu/ai-act.html", "open-source/open-r1-readme.md"]


def test_a_tampered_file_is_refused(mirror_folder):
    (mirror_folder / "eu/ai-act.html").write_bytes(HTML.replace(b"Article 1", b"Article 2"))
    expected = hashlib.sha256(HTML).hexdigest()[:12]
    with pytest.raises(FetchError, match=rf"mirror file eu/ai-act.html does not match its sha256 "
                                         rf"in manifest.json \(expected {expected}…, got [0-9a-f]{{12}}…\)"):
        Mirror.open(mirror_folder).fetch(AI_ACT_URL)


def test_a_listed_file_missing_on_disk_is_reported(mirror_folder):
    (mirror_folder / "eu/ai-act.html").unlink()
    with pytest.raises(FetchError, match=r"mirror file eu/ai-act.html is listed in manifest.json but missing"):
        Mirror.open(mirror_folder).fetch(AI_ACT_URL)


def test_a_file_outside_the_mirror_is_refused(mirror_folder, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not a policy document")
    manifest = [{"canonical_url": "https://example.org/x", "file": "../secret.txt"},
                {"canonical_url": "https://example.org/y", "file": str(secret)}]
    (mirror_folder / "manifest.json").write_text(json.dumps(manifest))
    mirror = Mirror.open(mirror_folder)
    for url in ("https://example.org/x", "https://example.org/y"):
        with pytest.raises(FetchError, match=r"lies outside the mirror folder"):
            mirror.fetch(url)


def test_the_size_limit_applies_when_settings_are_given(mirror_folder, tmp_path):
    small = load_settings(home=tmp_path, max_bytes=len(HTML) - 1)
    with pytest.raises(FetchError, match=r"mirror file eu/ai-act.html is larger than the \d+ bytes limit"):
        Mirror.open(mirror_folder, small).fetch(AI_ACT_URL)
    assert Mirror.open(mirror_folder).fetch(AI_ACT_URL).content == HTML


def test_a_missing_folder_or_manifest_is_reported(tmp_path):
    with pytest.raises(FetchError, match=r"mirror folder .*nowhere does not exist"):
        Mirror.open(tmp_path / "nowhere")
    with pytest.raises(FetchError, match=r"has no manifest.json"):
        Mirror.open(tmp_path)


@pytest.mark.parametrize("manifest, problem", [
    ("[{\"canonical_url\": ", "is not valid JSON"),
    ('{"canonical_url": "https://example.org/x"}', "must hold a list of entries"),
    ('[{"canonical_url": "https://example.org/x"}]', "entry 1 needs a canonical_url and a file"),
    ('[{"canonical_url": "https://example.org/x", "file": "a"},'
     ' {"canonical_url": "https://example.org/x/", "file": "b"}]', "lists https://example.org/x/ twice"),
])
def test_an_invalid_manifest_is_reported(tmp_path, manifest, problem):
    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(FetchError, match=problem):
        Mirror.open(tmp_path)


def test_every_shared_corpus_document_is_delivered_intact(shared_corpus, manifest):
    mirror = Mirror.open(shared_corpus)
    assert len(mirror.entries()) == len(manifest)
    for entry in manifest.values():
        fetched = mirror.fetch(entry["canonical_url"])
        assert fetched.sha256 == entry["sha256"], entry["file"]
        assert len(fetched.content) == entry["bytes"]
        assert fetched.content_type == entry["media_type"]
        assert fetched.url == entry["canonical_url"] and fetched.origin == "mirror"
    assert mirror.fetch("https://eur-lex.europa.eu/eli/reg/2099/1/oj") is None
