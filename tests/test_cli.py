"""The `kb` CLI end to end on small documents we write: real model, real Chroma in tmp_path."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli

GUIDE = """# Drone rules

Introductory words about unmanned aircraft.

## Registration

Every drone heavier than 250 grams must be registered with the aviation authority before its first flight.

## Night flights

Flying a drone at night requires a green flashing light visible from one kilometre.
"""

NOTES = "Bicycle helmets\n\nChildren under twelve must wear a helmet when cycling on public roads.\n"


def write_registry(path: Path, entries: list[dict]) -> Path:
    lines = []
    for entry in entries:
        lines.append("[[document]]")
        lines.extend(f'{key} = "{value}"' for key, value in entry.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def mini(tmp_path, settings, monkeypatch):
    """A registry of three documents and a mirror holding two of them."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = {"drones.md": GUIDE, "helmets.txt": NOTES}
    manifest = []
    for (name, text), (doc_id, url, media) in zip(files.items(), [
            ("drone-guide", "https://example.org/drones", "text/markdown"),
            ("helmet-notes", "https://example.org/helmets", "text/plain")], strict=False):
        (mirror / name).write_text(text, encoding="utf-8")
        manifest.append({"id": doc_id, "canonical_url": url, "file": name, "media_type": media,
                         "sha256": hashlib.sha256(text.encode()).hexdigest()})
    (mirror / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    registry = write_registry(tmp_path / "sources.toml", [
        {"id": "drone-guide", "title": "Drone guide", "canonical_url": "https://example.org/drones",
         "jurisdiction": "XX", "doc_type": "guidance", "date": "2024-01-01"},
        {"id": "helmet-notes", "title": "Helmet notes", "canonical_url": "https://example.org/helmets"},
        {"id": "absent", "title": "Not mirrored", "canonical_url": "https://example.org/absent"},
    ])
    monkeypatch.setenv("KB_HOME", str(settings.home))
    monkeypatch.setenv("KB_SOURCES_FILE", str(registry))
    monkeypatch.setenv("KB_HTTP_TIMEOUT", "2")
    monkeypatch.setenv("KB_HTTP_RETRIES", "0")
    monkeypatch.setenv("KB_ALLOW_PRIVATE_ADDRESSES", "true")  # the test web server is on 127.0.0.1
    return mirror


def kb(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_ingest_from_mirror_skips_what_the_mirror_lacks_then_does_no_work(mini):
    first = kb("ingest", "--mirror", str(mini), "--json")
    assert first.exit_code == 0, first.output
    report = {r["doc_id"]: r for r in json.loads(first.stdout)}
    assert report["drone-guide"]["status"] == "ingested"
    assert report["absent"]["status"] == "skipped" and "mirror" in report["absent"]["message"]
    second = kb("ingest", "--mirror", str(mini), "--json")
    assert {r["status"] for r in json.loads(second.stdout) if r["doc_id"] != "absent"} == {"unchanged"}


def test_list_show_and_search_json(mini):
    kb("ingest", "--mirror", str(mini))
    documents = {d["doc_id"]: d for d in json.loads(kb("list", "--json").stdout)}
    assert documents["drone-guide"]["passages"] >= 1
    assert documents["drone-guide"]["jurisdiction"] == "XX"
    assert documents["drone-guide"]["fetched_from"] == "mirror"
    hits = json.loads(kb("search", "Do I have to register my drone?", "--json", "-k", "3").stdout)
    assert set(hits[0]) == {"rank", "score", "passage_id", "doc_id", "title", "locator", "url", "text",
                            "status", "status_date", "status_note", "replaced_by",  # "" while in force
                            "definitions", "refers_to"}  # the hit's context, [] for the drone guide
    assert hits[0]["doc_id"] == "drone-guide" and "registered" in hits[0]["text"]
    assert hits[0]["url"].startswith("https://example.org/drones#")
    shown = kb("show", "drone-guide", hits[0]["locator"])
    assert shown.exit_code == 0 and "250 grams" in shown.output


def test_errors_are_one_line_with_exit_codes(mini):
    kb("ingest", "--mirror", str(mini))
    empty = kb("search", "   ")
    assert empty.exit_code == 2 and "query is empty" in empty.stderr
    unknown = kb("show", "no-such-doc")
    assert unknown.exit_code == 3 and "no-such-doc" in unknown.stderr
    assert "Traceback" not in unknown.output + unknown.stderr
    missing = kb("add", "/nonexistent/file.pdf")
    assert missing.exit_code != 0 and "file.pdf" in missing.stderr


def test_add_a_file_then_it_is_searchable_and_survives_reingest(mini, tmp_path):
    page = tmp_path / "wind.md"
    page.write_text("# Wind turbines\n\n## Noise\n\nTurbines must stay below 35 decibels at night "
                    "near houses.\n", encoding="utf-8")
    added = kb("add", str(page), "--jurisdiction", "DK", "--date", "2025-02-03")
    assert added.exit_code == 0, added.output + added.stderr
    page.unlink()  # the data directory keeps its own copy
    hits = json.loads(kb("search", "how loud may a wind turbine be at night", "--json").stdout)
    assert hits[0]["doc_id"] == "wind-turbines"
    again = json.loads(kb("ingest", "--mirror", str(mini), "--json").stdout)
    assert {r["doc_id"]: r["status"] for r in again}["wind-turbines"] == "unchanged"
    assert kb("remove", "wind-turbines").exit_code == 0
    assert "wind-turbines" not in kb("list").output


def test_a_broken_file_is_refused_and_nothing_stored_changes(mini, tmp_path, monkeypatch):
    kb("ingest", "--mirror", str(mini))
    before = kb("list", "--json").stdout
    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    result = kb("add", str(corrupt))
    assert result.exit_code == 5, result.stderr
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
    monkeypatch.setenv("KB_MAX_BYTES", "100")
    big = tmp_path / "big.txt"
    big.write_text("words " * 100, encoding="utf-8")
    too_big = kb("add", str(big))
    assert too_big.exit_code == 4 and "limit" in too_big.stderr
    assert kb("list", "--json").stdout == before


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/rules.md":
            body = b"# Lift safety\n\n## Inspection\n\nLifts must be inspected every six months.\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/markdown")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_add_by_url_and_a_404_changes_nothing(mini, web):
    added = kb("add", f"{web}/rules.md", "--json")
    assert added.exit_code == 0, added.stderr
    assert json.loads(added.stdout)["doc_id"] == "lift-safety"
    hits = json.loads(kb("search", "how often are lifts checked", "--json").stdout)
    assert hits[0]["url"].startswith(f"{web}/rules.md#")
    before = kb("list", "--json").stdout
    missing = kb("add", f"{web}/gone.md")
    assert missing.exit_code == 4 and "404" in missing.stderr
    assert kb("list", "--json").stdout == before


def test_a_document_that_breaks_keeps_its_previous_version(mini):
    kb("ingest", "--mirror", str(mini))
    # The publisher now serves garbage (the manifest agrees, so only parsing can catch it).
    garbage = b"\x00\x01\x02" * 1000
    (mini / "drones.md").write_bytes(garbage)
    manifest = json.loads((mini / "manifest.json").read_text())
    manifest[0]["sha256"] = hashlib.sha256(garbage).hexdigest()
    (mini / "manifest.json").write_text(json.dumps(manifest))
    result = kb("ingest", "--mirror", str(mini), "--json")
    assert result.exit_code == 1
    report = {r["doc_id"]: r for r in json.loads(result.stdout)}
    assert report["drone-guide"]["status"] == "failed"
    assert report["helmet-notes"]["status"] == "unchanged"
    hits = json.loads(kb("search", "Do I have to register my drone?", "--json").stdout)
    assert hits[0]["doc_id"] == "drone-guide" and "250 grams" in hits[0]["text"]
