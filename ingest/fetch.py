"""URL or local path in, Fetched bytes with provenance out.

`fetch_url` is a polite HTTP client: a real User-Agent, robots.txt, timeouts and an overall deadline,
retries with backoff, a size limit and an on-disk HTTP cache that revalidates with conditional GETs.
`read_file` reads a document a user added. Every failure is a FetchError that names the URL or path.
"""

from __future__ import annotations

import mimetypes
import re
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePath, PurePosixPath
from urllib.parse import unquote, urlsplit
from urllib.robotparser import RobotFileParser

import hishel
import httpx
from hishel.httpx import CacheClient

from ingest.addresses import check_public_url
from kb.config import Settings
from kb.errors import FetchError
from kb.types import Fetched, FetchOrigin

MAX_REDIRECTS = 10
# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt; the rest may be ignored.
ROBOTS_MAX_BYTES = 512 * 1024
CACHE_DATABASE = "hishel.sqlite3"
# Media types that mimetypes does not know on every system.
EXTRA_MEDIA_TYPES = {".md": "text/markdown", ".markdown": "text/markdown"}

# robots.txt rules per "scheme://host[:port]", read once per process.
_robots_by_origin: dict[str, RobotFileParser] = {}


def fetch_url(url: str, settings: Settings) -> Fetched:
    """Download `url` politely and return its bytes with provenance; FetchError on any failure."""
    _require_http(url)
    attempts = settings.http_retries + 1
    with _open_client(settings) as client:
        attempt = 1
        while True:
            try:
                return _get(client, url, settings)
            except _Retry as failure:
                if attempt == attempts:
                    tries = f" (tried {attempts} times)" if attempts > 1 else ""
                    raise FetchError(f"{failure.message}{tries}{failure.tail}") from None
                backoff = settings.http_backoff * 2 ** (attempt - 1)
                time.sleep(max(backoff, failure.wait or 0.0))
                attempt += 1


def read_file(path: Path, settings: Settings) -> Fetched:
    """Read a user-added document from disk, under the same size limit as a download."""
    path = Path(path).expanduser()
    try:
        if path.is_dir():
            raise FetchError(f"{path} is a folder, not a document file")
        if path.stat().st_size > settings.max_bytes:
            raise FetchError(too_large_message(str(path), settings.max_bytes))
        content = path.read_bytes()
    except FileNotFoundError:
        raise FetchError(f"{path} does not exist") from None
    except PermissionError:
        raise FetchError(f"{path} cannot be read: permission denied") from None
    except OSError as exc:
        raise FetchError(f"{path} cannot be read: {exc.strerror or exc}") from None
    uri = path.resolve().as_uri()
    return _fetched(content, url=uri, final_url=uri, content_type=media_type_for(path.name),
                    origin="file", filename=path.name)


def media_type_for(filename: str) -> str:
    """The media type a file name suggests ("text/markdown" for .md), "" when unknown."""
    suffix = PurePath(filename).suffix.lower()
    return EXTRA_MEDIA_TYPES.get(suffix) or mimetypes.guess_type(filename)[0] or ""


def too_large_message(what: str, limit: int) -> str:
    """The message for a document over the size limit (shared with the mirror)."""
    return f"{what} is larger than the {_size(limit)} limit; raise KB_MAX_BYTES to allow it"


@dataclass(eq=False)
class _Retry(Exception):
    """A failure worth another attempt: a network error, a timeout, 429 or 5xx."""

    message: str
    wait: float | None = None  # seconds the server asked us to wait (Retry-After)
    tail: str = ""  # appended after the attempt count in the final message


def _open_client(settings: Settings) -> httpx.Client:
    # hishel's RFC 9111 mode stores responses in SQLite and revalidates stale ones with
    # If-None-Match / If-Modified-Since; a 304 is answered with the stored body and
    # extensions["caching"]["from_cache"] set. "Cache-Control: no-cache" on every request makes
    # each fetch a conditional GET, so an update always sees a changed document.
    storage = hishel.SqliteStorage(
        database_path=settings.http_cache_dir / CACHE_DATABASE, max_stream_size=settings.max_bytes
    )
    # The address check runs before every request the client sends: each redirect hop of a
    # document and of its robots.txt is checked, not only the URL a person typed.
    guard = [] if settings.allow_private_addresses else [lambda request: check_public_url(str(request.url))]
    return CacheClient(
        storage=storage,
        rfc=hishel.CacheOptions(shared=False),
        headers={"User-Agent": settings.user_agent, "Cache-Control": "no-cache"},
        timeout=httpx.Timeout(settings.http_timeout),
        follow_redirects=False,
        event_hooks={"request": guard},
    )


def _get(client: httpx.Client, url: str, settings: Settings) -> Fetched:
    """One attempt: FetchError when hopeless, _Retry when another attempt may succeed."""
    try:
        return _get_once(client, url, settings)
    except httpx.HTTPError as exc:
        raise _network_failure(url, exc, settings) from exc
    except RuntimeError as exc:  # hishel refuses a cache database it cannot use
        raise FetchError(
            f"could not fetch {url}: the HTTP cache in {settings.http_cache_dir} cannot be used ({exc}); "
            "delete that folder to start a fresh cache"
        ) from exc


def _get_once(client: httpx.Client, url: str, settings: Settings) -> Fetched:
    # Read timeouts apply per socket read; the deadline stops a server that trickles a body.
    deadline = time.monotonic() + 2 * settings.http_timeout
    with closing(_open_final_response(client, url, settings)) as response:
        _check_status(url, response, settings)
        content = _read_body(response, url, settings, deadline)
        from_cache = response.extensions.get("caching", {}).get("from_cache", False)
        final_url = str(response.url)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return _fetched(content, url=url, final_url=final_url, content_type=media_type,
                    origin="cache" if from_cache else "network",
                    filename=PurePosixPath(unquote(urlsplit(final_url).path)).name)


def _open_final_response(client: httpx.Client, url: str, settings: Settings) -> httpx.Response:
    """Follow redirects by hand so that every hop is checked against its own robots.txt."""
    chain = [url]
    request = client.build_request("GET", url)
    while True:
        target = str(request.url)
        _require_http(target)
        if settings.respect_robots and not _robots_allow(client, target, settings):
            raise FetchError(f"robots.txt of {urlsplit(target).netloc} disallows {target}")
        response = client.send(request, stream=True, follow_redirects=False)
        if not response.has_redirect_location or response.next_request is None:
            return response
        response.close()
        request = response.next_request
        next_url = str(request.url)
        if next_url in chain:
            hops = " -> ".join(chain[chain.index(next_url):] + [next_url])
            raise FetchError(f"{url} redirects in a loop: {hops}")
        chain.append(next_url)
        if len(chain) > MAX_REDIRECTS + 1:
            raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times (last to {next_url})")


def _check_status(url: str, response: httpx.Response, settings: Settings) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    described = f"{url} returned {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    if status == 429 or status >= 500:
        wait = _retry_after(response)
        if wait is not None and wait > settings.http_timeout:
            raise FetchError(f"{described} and asked to wait {wait:.0f} s; try again later")
        raise _Retry(described, wait=wait, tail="; the document was not changed")
    raise FetchError(f"{described}; the document was not changed")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), None when absent or invalid."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _read_body(response: httpx.Response, url: str, settings: Settings, deadline: float) -> bytes:
    limit = settings.max_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(too_large_message(url, limit))
    body = bytearray()
    for chunk in _chunks_before(response, deadline, url, settings):
        body += chunk
        if len(body) > limit:
            raise FetchError(too_large_message(url, limit))
    return bytes(body)


def _chunks_before(response: httpx.Response, deadline: float, url: str, settings: Settings):
    for chunk in response.iter_bytes():
        if time.monotonic() > deadline:
            raise FetchError(
                f"{url} took longer than {2 * settings.http_timeout:g} s to download; "
                "the server is sending too slowly (raise KB_HTTP_TIMEOUT to wait longer)"
            )
        yield chunk


def _robots_allow(client: httpx.Client, url: str, settings: Settings) -> bool:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    rules = _robots_by_origin.get(origin)
    if rules is None:
        rules = _read_robots(client, origin, settings)
        if rules is None:
            return True
        _robots_by_origin[origin] = rules
    return rules.can_fetch(settings.user_agent, url)


def _read_robots(client: httpx.Client, origin: str, settings: Settings) -> RobotFileParser | None:
    """The host's robots.txt rules; None when the server or network failed (not remembered).

    RFC 9309 says to assume "disallow all" when robots.txt is unreachable; we let the document
    request go ahead instead, because it meets the same trouble and reports it with a clearer
    message, and a transient hiccup should not refuse a host for the rest of the run.
    """
    robots_url = f"{origin}/robots.txt"
    rules = RobotFileParser(robots_url)
    deadline = time.monotonic() + 2 * settings.http_timeout
    try:
        with client.stream("GET", robots_url, follow_redirects=True) as response:
            if response.status_code >= 500:
                return None
            if response.status_code in (401, 403):
                rules.parse(["User-agent: *", "Disallow: /"])
            elif response.status_code >= 400:
                rules.parse([])
            else:
                body = bytearray()
                for chunk in _chunks_before(response, deadline, robots_url, settings):
                    body += chunk
                    if len(body) >= ROBOTS_MAX_BYTES:
                        break
                rules.parse(bytes(body[:ROBOTS_MAX_BYTES]).decode("utf-8", "replace").splitlines())
    except (httpx.HTTPError, FetchError):
        return None
    return rules


def _network_failure(url: str, exc: httpx.HTTPError, settings: Settings) -> Exception:
    """The FetchError (or _Retry) a person should see for an httpx exception."""
    reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)).strip() or type(exc).__name__
    reason = reason[:1].lower() + reason[1:]
    if isinstance(exc, httpx.ConnectTimeout):
        return _Retry(f"could not connect to {url} within {settings.http_timeout:g} s")
    if isinstance(exc, httpx.TimeoutException):
        return _Retry(f"{url} timed out after {settings.http_timeout:g} s")
    if isinstance(exc, httpx.ConnectError):
        return _Retry(f"could not connect to {url}: {reason}")
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol):
        return _Retry(f"the connection to {url} broke: {reason}")
    return FetchError(f"could not fetch {url}: {reason}")


def _require_http(url: str) -> None:
    try:
        parts = urlsplit(url)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise FetchError(f"{url} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"only http(s) URLs can be fetched: {url}")
    if not parts.hostname:
        raise FetchError(f"{url} is not a valid URL: it names no host")


def _size(count: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= factor and count % factor == 0:
            return f"{count // factor} {unit}"
    return f"{count} bytes"


def _fetched(content: bytes, *, url: str, final_url: str, content_type: str, origin: FetchOrigin,
             filename: str) -> Fetched:
    return Fetched.create(content, url=url, final_url=final_url, content_type=content_type,
                          origin=origin, filename=filename)
