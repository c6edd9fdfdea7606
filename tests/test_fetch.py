"""fetch_url against real HTTP servers on 127.0.0.1, and read_file on real files."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest import addresses, fetch
from ingest.fetch import fetch_url, read_file
from kb.config import load_settings
from kb.errors import FetchError

HTML = b"<html><body><h1>Article 1</h1><p>Subject matter</p></body></html>"


class Site:
    """A local web server whose pages a test defines; it records the path and headers of every request.

    A route is a list of responders used in turn (the last one repeats); a responder is a
    function of the request handler. Unknown paths answer 404, so robots.txt is absent by default.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, list] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                responders = site.routes.get(self.path) or [page(404, b"not here")]
                responder = responders.pop(0) if len(responders) > 1 else responders[0]
                responder(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.block_on_close = False  # a stalled handler must not hold up the test
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}{path}"

    def route(self, path: str, *responders) -> str:
        self.routes[path] = list(responders)
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        """Headers of each request made to `path`."""
        return [headers for seen, headers in self.requests if seen == path]


def page(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
         length: bool = True):
    """A responder sending a whole response (without Content-Length when `length` is False)."""
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if length:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return respond


def redirect(location: str, status: int = 302):
    return page(status, headers={"Location": location})


def serve(host: str = "127.0.0.1"):
    server = Site(host)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def site():
    yield from serve()


@pytest.fixture
def inside():
    """A second local server, on 127.0.0.2: a service inside the network (cloud metadata, a router)."""
    yield from serve("127.0.0.2")


@pytest.fixture
def settings(tmp_path):
    """Small timeouts and backoff so failures are quick; robots.txt and the address guard are
    tested on their own (the test servers listen on 127.0.0.1)."""
    return load_settings(home=tmp_path, http_timeout=0.5, http_retries=2, http_backoff=0.01,
                         max_bytes=1000, respect_robots=False, allow_private_addresses=True)


@pytest.fixture(autouse=True)
def forget_robots(monkeypatch):
    # robots.txt rules are remembered per process and host; ports are reused between tests.
    monkeypatch.setattr(fetch, "_robots_by_origin", {})


def test_a_page_comes_with_its_provenance(site, settings):
    url = site.route("/eli/reg/2024/1689/oj.html",
                     page(body=HTML, headers={"Content-Type": "text/HTML; charset=UTF-8"}))
    fetched = fetch_url(url, settings)
    assert fetched.content == HTML
    assert fetched.url == url and fetched.final_url == url
    assert fetched.sha256 == hashlib.sha256(HTML).hexdigest()
    assert fetched.content_type == "text/html"
    assert fetched.origin == "network"
    assert fetched.filename == "oj.html"
    assert fetched.fetched_at.endswith("+00:00")
    assert site.hits("/eli/reg/2024/1689/oj.html")[0]["user-agent"] == settings.user_agent


def test_404_is_reported_once_without_retrying(site, settings):
    with pytest.raises(FetchError, match=r"/gone returned 404 Not Found; the document was not changed"):
        fetch_url(site.url("/gone"), settings)
    assert len(site.hits("/gone")) == 1


def test_server_errors_are_retried_until_the_page_comes(site, settings):
    url = site.route("/flaky", page(500), page(503), page(body=HTML))
    assert fetch_url(url, settings).content == HTML
    assert len(site.hits("/flaky")) == 3


def test_persistent_server_errors_give_up_after_the_retries(site, settings):
    url = site.route("/down", page(502))
    with pytest.raises(FetchError, match=r"returned 502 Bad Gateway \(tried 3 times\)"):
        fetch_url(url, settings)
    assert len(site.hits("/down")) == 3


def test_a_short_retry_after_is_honoured_and_a_long_one_is_reported(site, settings):
    url = site.route("/busy", page(429, headers={"Retry-After": "0"}), page(body=HTML))
    assert fetch_url(url, settings).content == HTML
    url = site.route("/closed", page(503, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError, match=r"503 Service Unavailable and asked to wait 3600 s"):
        fetch_url(url, settings)
    assert len(site.hits("/closed")) == 1


def test_a_server_that_never_answers_times_out(settings):
    with socket.socket() as silent:  # accepts connections (in the backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/doc"
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"timed out after 0.5 s \(tried 3 times\)"):
            fetch_url(url, settings)
    assert time.monotonic() - started < 10


def test_a_refused_connection_is_reported(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=rf"could not connect to http://127.0.0.1:{port}/doc"):
        fetch_url(f"http://127.0.0.1:{port}/doc", settings)


def test_a_trickling_server_is_stopped_by_the_deadline(site, settings):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "900")
        handler.end_headers()
        for _ in range(200):  # 10 s at most, far past the 1 s deadline
            try:
                handler.wfile.write(b"x")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.05)

    url = site.route("/slow", trickle)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/slow took longer than 1 s to download"):
        fetch_url(url, settings)
    assert time.monotonic() - started < 5
    assert len(site.hits("/slow")) == 1


def test_redirects_are_followed_to_the_final_url(site, settings):
    site.route("/old", redirect("/moved", 301))
    site.route("/moved", redirect(site.url("/current/doc.pdf"), 302))
    site.route("/current/doc.pdf", page(body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}))
    fetched = fetch_url(site.url("/old"), settings)
    assert fetched.url == site.url("/old")
    assert fetched.final_url == site.url("/current/doc.pdf")
    assert fetched.filename == "doc.pdf" and fetched.content_type == "application/pdf"


def test_a_redirect_loop_is_reported(site, settings):
    site.route("/ping", redirect("/pong"))
    site.route("/pong", redirect("/ping"))
    with pytest.raises(FetchError, match=r"redirects in a loop: .*/ping -> .*/pong -> .*/ping"):
        fetch_url(site.url("/ping"), settings)


def test_a_redirect_to_another_scheme_is_refused(site, settings):
    url = site.route("/elsewhere", redirect("ftp://files.example.org/doc.pdf"))
    with pytest.raises(FetchError, match=r"only http\(s\) URLs can be fetched: ftp://files"):
        fetch_url(url, settings)


def test_a_declared_size_over_the_limit_is_refused(site, settings):
    url = site.route("/big", page(body=b"x" * 5000))
    with pytest.raises(FetchError, match=r"/big is larger than the 1000 bytes limit; raise KB_MAX_BYTES"):
        fetch_url(url, settings)


def test_a_streamed_body_over_the_limit_is_stopped(site, settings):
    url = site.route("/endless", page(body=b"x" * 5000, length=False))
    with pytest.raises(FetchError, match=r"/endless is larger than the 1000 bytes limit"):
        fetch_url(url, settings)


@pytest.mark.parametrize("validator, condition", [
    ("ETag", "if-none-match"),
    ("Last-Modified", "if-modified-since"),
])
def test_an_unchanged_page_is_revalidated_and_served_from_the_cache(site, settings, validator, condition):
    current = {"tag": '"v1"' if validator == "ETag" else "Mon, 01 Jan 2024 00:00:00 GMT", "body": HTML}

    def document(handler):
        if handler.headers.get(condition) == current["tag"]:
            page(304, headers={validator: current["tag"]})(handler)
        else:
            page(body=current["body"], headers={validator: current["tag"], "Content-Type": "text/html"})(handler)

    url = site.route("/doc", document)
    first = fetch_url(url, settings)
    second = fetch_url(url, settings)
    assert (first.origin, second.origin) == ("network", "cache")
    assert second.content == HTML and second.sha256 == first.sha256
    assert second.content_type == "text/html" and second.final_url == url
    assert [hit.get(condition) for hit in site.hits("/doc")] == [None, current["tag"]]

    current.update(tag='"v2"' if validator == "ETag" else "Tue, 02 Jan 2024 00:00:00 GMT", body=b"amended")
    third = fetch_url(url, settings)
    assert (third.origin, third.content) == ("network", b"amended")


def test_a_body_cut_by_the_size_limit_is_not_cached(site, settings):
    url = site.route("/doc", page(body=b"x" * 5000, headers={"ETag": '"big"'}, length=False),
                     page(body=HTML, headers={"ETag": '"small"'}))
    with pytest.raises(FetchError, match="larger than"):
        fetch_url(url, settings)
    assert fetch_url(url, settings).content == HTML
    assert site.hits("/doc")[1].get("if-none-match") is None


def test_robots_txt_disallow_is_obeyed(site, settings):
    site.route("/robots.txt", page(body=b"User-agent: *\nDisallow: /private/\n"))
    site.route("/private/doc", page(body=HTML))
    public = site.route("/public/doc", page(body=HTML))
    polite = settings.model_copy(update={"respect_robots": True})
    host = f"127.0.0.1:{site.server.server_address[1]}"
    with pytest.raises(FetchError, match=rf"robots.txt of {host} disallows {site.url('/private/doc')}"):
        fetch_url(site.url("/private/doc"), polite)
    assert fetch_url(public, polite).content == HTML
    assert site.hits("/private/doc") == [] and len(site.hits("/robots.txt")) == 1
    assert fetch_url(site.url("/private/doc"), settings).content == HTML  # robots.txt turned off


def test_a_missing_robots_txt_allows_everything(site, settings):
    url = site.route("/doc", page(body=HTML))
    polite = settings.model_copy(update={"respect_robots": True})
    assert fetch_url(url, polite).content == HTML
    assert fetch_url(url, polite).content == HTML
    assert len(site.hits("/robots.txt")) == 1


@pytest.mark.parametrize("url", ["ftp://example.org/ai-act.pdf", "file:///etc/passwd", "eur-lex.europa.eu/x"])
def test_only_http_urls_are_fetched(settings, url):
    with pytest.raises(FetchError, match=r"only http\(s\) URLs can be fetched"):
        fetch_url(url, settings)


def test_read_file_gives_a_local_document_with_its_provenance(tmp_path, settings):
    path = tmp_path / "notes.md"
    path.write_bytes(b"# Notes\n\nArticle 5 applies.\n")
    fetched = read_file(path, settings)
    assert fetched.content == path.read_bytes()
    assert (fetched.origin, fetched.content_type, fetched.filename) == ("file", "text/markdown", "notes.md")
    assert fetched.url == path.as_uri() and fetched.sha256 == hashlib.sha256(fetched.content).hexdigest()


def test_read_file_refuses_missing_folders_and_oversized_files(tmp_path, settings):
    with pytest.raises(FetchError, match=re.escape("missing.pdf does not exist")):
        read_file(tmp_path / "missing.pdf", settings)
    with pytest.raises(FetchError, match="is a folder, not a document file"):
        read_file(tmp_path, settings)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(FetchError, match=r"big.txt is larger than the 1000 bytes limit"):
        read_file(big, settings)


def test_an_unusable_cache_database_is_reported(site, settings):
    settings.http_cache_dir.mkdir(parents=True)
    with sqlite3.connect(settings.http_cache_dir / fetch.CACHE_DATABASE) as database:
        database.execute("CREATE TABLE entries (something_else TEXT)")
    url = site.route("/doc", page(body=HTML))
    with pytest.raises(FetchError, match=r"the HTTP cache in .* cannot be used"):
        fetch_url(url, settings)


@pytest.mark.parametrize("url", ["http://", "https://[::1/doc"])
def test_a_malformed_url_is_reported(settings, url):
    with pytest.raises(FetchError, match="is not a valid URL"):
        fetch_url(url, settings)


# The address guard -------------------------------------------------------------------------------

@pytest.fixture
def guarded(settings):
    return settings.model_copy(update={"allow_private_addresses": False, "http_retries": 0})


@pytest.mark.parametrize("url, kind", [
    ("http://127.0.0.1:8501/admin", "this computer"),
    ("http://[::1]/", "this computer"),
    ("http://[::ffff:127.0.0.1]/", "this computer"),
    ("http://10.0.0.5/x", "a private network address"),
    ("https://192.168.1.1/router", "a private network address"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ("http://0.0.0.0/", "an address that is not a web server"),
    ("http://localhost/", "this computer"),
])
def test_private_and_local_addresses_are_refused(guarded, url, kind):
    with pytest.raises(FetchError, match=rf"^{re.escape(url)} points to {kind}.*only fetches public web pages"):
        fetch_url(url, guarded)


def test_a_file_url_is_refused_before_any_address_check(guarded):
    with pytest.raises(FetchError, match=r"only http\(s\) URLs can be fetched: file:///etc/passwd"):
        fetch_url("file:///etc/passwd", guarded)


def test_public_addresses_pass_the_guard():
    for address in ("93.184.215.14", "2606:4700::6810:85e5"):
        assert addresses.non_public_kind(ipaddress.ip_address(address)) == ""


def test_a_redirect_to_a_private_address_is_refused(site, inside, guarded, monkeypatch):
    # The test server listens on 127.0.0.1: let that one address count as public, so the first
    # hop goes through and the redirect (to 127.0.0.2) is what the guard has to catch.
    really = addresses.non_public_kind
    monkeypatch.setattr(addresses, "non_public_kind",
                        lambda address: "" if str(address) == "127.0.0.1" else really(address))
    secret = inside.route("/secret", page(body=b"metadata credentials"))
    start = site.route("/start", redirect(secret))
    with pytest.raises(FetchError, match=rf"^{re.escape(secret)} points to this computer"):
        fetch_url(start, guarded)
    assert site.hits("/start") and inside.requests == []


def test_a_robots_txt_redirect_to_a_private_address_is_not_followed(site, inside, guarded, monkeypatch):
    # As above, 127.0.0.1 counts as public; 127.0.0.2 is the private address the redirect aims at.
    really = addresses.non_public_kind
    monkeypatch.setattr(addresses, "non_public_kind",
                        lambda address: "" if str(address) == "127.0.0.1" else really(address))
    inside.route("/latest/meta-data/", page(body=b"metadata credentials"))
    site.route("/robots.txt", redirect(inside.url("/latest/meta-data/")))
    url = site.route("/doc", page(body=HTML))
    polite = guarded.model_copy(update={"respect_robots": True})
    assert fetch_url(url, polite).content == HTML
    assert len(site.hits("/robots.txt")) == 1
    assert inside.requests == []  # the redirect was refused before any request reached it
