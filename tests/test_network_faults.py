"""Network faults test_fetch.py does not cover: a reset or short body mid-download, a stall after
the headers, an endless body, a gzip bomb, a lying content type; and, end to end, a document whose
server starts failing keeps its previous version searchable."""

from __future__ import annotations

import json
import socket
import struct
import time
import tracemalloc
import zlib
from functools import cache

import pymupdf
import pytest
from click.testing import CliRunner

from ingest.fetch import fetch_url
from ingest.parse import parse
from kb.api import KnowledgeBase
from kb.cli import cli
from kb.errors import FetchError
from tests import test_fetch
from tests.test_fetch import HTML, page

# The local web server of test_fetch, and its fixtures (forget_robots applies here too).
site, forget_robots = test_fetch.site, test_fetch.forget_robots

# Every fault must be reported well within this (the settings allow 3 attempts of 0.5 s).
REPORTED_WITHIN = 10.0


@pytest.fixture
def fast(settings):
    """Short timeouts and a 1000-byte limit, so that every fault shows quickly."""
    return settings.model_copy(update={"http_timeout": 0.5, "http_retries": 2, "http_backoff": 0.01,
                                       "max_bytes": 1000, "respect_robots": False,
                                       "allow_private_addresses": True})  # the server is on 127.0.0.1


def headers_then(action, length: int | None = 900, content_type: str = "text/html"):
    """A responder that sends 200 and its headers, then does `action(handler)` to the body."""
    def respond(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        if length is not None:
            handler.send_header("Content-Length", str(length))
        handler.end_headers()
        action(handler)
    return respond


def reset(handler):
    """Send part of the body, then abort the connection (TCP RST, not a clean close)."""
    handler.wfile.write(b"<html><body>partial")
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


def short(handler):
    """Send 100 of the 900 bytes promised, then close cleanly: a lying Content-Length."""
    handler.wfile.write(b"x" * 100)
    handler.close_connection = True


def stall(handler):
    """Send a little, then nothing for longer than the read timeout."""
    handler.wfile.write(b"<html>")
    handler.wfile.flush()
    time.sleep(3)


def endless(handler):
    """Send 1 KB chunks for ever (until the client goes away)."""
    try:
        while True:
            handler.wfile.write(b"x" * 1024)
    except OSError:
        return


@pytest.mark.parametrize("fault, expected", [
    (headers_then(reset), r"the connection to .*/doc broke: .* \(tried 3 times\)"),
    (headers_then(short), r"the connection to .*/doc broke: .* \(tried 3 times\)"),
    (headers_then(stall), r"/doc timed out after 0.5 s \(tried 3 times\)"),
    (headers_then(endless, length=None), r"/doc is larger than the 1000 bytes limit"),
], ids=["reset mid-body", "lying content-length", "stall after headers", "endless body"])
def test_a_broken_download_is_a_clear_fetch_error_in_time(site, fast, fault, expected):
    url = site.route("/doc", fault)
    started = time.monotonic()
    with pytest.raises(FetchError, match=expected):
        fetch_url(url, fast)
    assert time.monotonic() - started < REPORTED_WITHIN


def test_an_endless_body_under_a_large_limit_is_stopped_by_the_deadline(site, fast):
    url = site.route("/doc", headers_then(endless, length=None))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/doc took longer than 1 s to download"):
        fetch_url(url, fast.model_copy(update={"max_bytes": 2**40}))
    assert time.monotonic() - started < REPORTED_WITHIN


@cache
def gzip_bomb(inflated: int = 256 * 2**20) -> bytes:
    """About 1 MB of gzip that inflates to 256 MB of zeros."""
    deflate, zeros = zlib.compressobj(1, wbits=31), bytes(2**20)
    return b"".join(deflate.compress(zeros) for _ in range(inflated // len(zeros))) + deflate.flush()


def test_a_gzip_bomb_is_refused_without_inflating_it(site, fast):
    bomb = gzip_bomb()
    url = site.route("/doc", page(body=bomb, headers={"Content-Encoding": "gzip",
                                                      "Content-Type": "text/html"}))
    settings = fast.model_copy(update={"max_bytes": 2 * 2**20})  # the compressed size passes
    assert len(bomb) < settings.max_bytes
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"/doc is larger than the 2 MB limit"):
            fetch_url(url, settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 128 * 2**20  # measured 48 MB; inflating it all would take 256 MB


def small_pdf(text: str) -> bytes:
    with pymupdf.open() as document:
        document.new_page().insert_text((72, 72), text)
        return document.tobytes()


@pytest.mark.parametrize("body, declared, parser, text", [
    (small_pdf("Article 1\nDrones must be registered."), "text/html", "pdf", "Drones must be registered."),
    (HTML, "application/pdf", "html", "Subject matter"),
    (b"# Rules\n\nDrones must be registered.\n", "application/octet-stream", "markdown",
     "Drones must be registered."),
], ids=["pdf said to be html", "html said to be pdf", "markdown said to be binary"])
def test_a_lying_content_type_is_overruled_by_the_bytes(site, fast, body, declared, parser, text):
    url = site.route("/doc", page(body=body, headers={"Content-Type": declared}))
    settings = fast.model_copy(update={"max_bytes": 10**6})
    fetched = fetch_url(url, settings)
    assert fetched.content_type == declared
    document = parse(fetched)
    assert document.parser == parser
    assert any(text in block for node in document.root.walk() for block in node.blocks)


def test_a_failing_server_leaves_the_previous_version_searchable(site, settings, embedder, tmp_path,
                                                                 monkeypatch):
    body = b"# Lift rules\n\n## Inspection\n\nLifts must be inspected every six months.\n"
    url = site.route("/lifts.md", page(body=body, headers={"Content-Type": "text/markdown"}))
    registry = tmp_path / "sources.toml"
    registry.write_text("")  # only the document added below, no default corpus
    settings = settings.model_copy(update={"sources_file": registry, "allow_private_addresses": True})
    with KnowledgeBase(settings, embedder=embedder) as kb:
        added = kb.add(url)
    for name, value in {"KB_HOME": settings.home, "KB_SOURCES_FILE": registry,
                        "KB_HTTP_TIMEOUT": 0.5, "KB_HTTP_RETRIES": 1, "KB_HTTP_BACKOFF": 0,
                        "KB_ALLOW_PRIVATE_ADDRESSES": "true"}.items():
        monkeypatch.setenv(name, str(value))
    runner = CliRunner()

    for fault, reported in [(page(500, b"oops"), "500 Internal Server Error"),
                            (headers_then(reset), "broke"), (page(404), "404 Not Found")]:
        site.route("/lifts.md", fault)
        result = runner.invoke(cli, ["ingest", "--json"], catch_exceptions=False)
        assert result.exit_code == 1
        [report] = json.loads(result.stdout)
        assert report["doc_id"] == added.doc_id and report["status"] == "failed"
        assert reported in report["message"] and "/lifts.md" in report["message"]

    found = runner.invoke(cli, ["search", "how often must lifts be inspected", "--json"])
    hits = json.loads(found.stdout)
    assert hits[0]["doc_id"] == added.doc_id and "six months" in hits[0]["text"]
    assert hits[0]["url"].startswith(url)
