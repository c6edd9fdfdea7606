"""The offline mirror: documents saved in a folder, used instead of the network.

A mirror is a folder with a `manifest.json` listing one entry per document (`canonical_url`, `file`
relative to the folder, `media_type`, `sha256`, ...), laid out like the shared corpus. Air-gapped
users and CI point `KB_MIRROR` at one; every file is checked against its sha256 before use.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ingest.fetch import media_type_for, too_large_message
from kb.config import Settings
from kb.errors import FetchError
from kb.types import Fetched

MANIFEST = "manifest.json"


class Mirror:
    """The documents of one mirror folder, keyed by canonical URL."""

    def __init__(self, folder: Path, entries: list[dict], max_bytes: int | None = None):
        self.folder = folder
        self.max_bytes = max_bytes
        self._entries = entries
        self._by_url = {_url_key(entry["canonical_url"]): entry for entry in entries}

    @classmethod
    def open(cls, folder: Path, settings: Settings | None = None) -> Mirror:
        """Read the mirror's manifest; FetchError when the folder or manifest is missing or invalid."""
        folder = Path(folder).expanduser().resolve()
        manifest_path = folder / MANIFEST
        if not folder.is_dir():
            raise FetchError(f"mirror folder {folder} does not exist")
        try:
            entries = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FetchError(f"mirror folder {folder} has no {MANIFEST}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FetchError(f"cannot read {manifest_path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise FetchError(f"{manifest_path} is not valid JSON: {exc}") from None
        _check_manifest(entries, manifest_path)
        return cls(folder, entries, settings.max_bytes if settings is not None else None)

    def entries(self) -> list[dict]:
        """Every manifest entry, in manifest order."""
        return list(self._entries)

    def lookup(self, canonical_url: str) -> dict | None:
        """The manifest entry for `canonical_url` (a trailing slash does not matter), or None."""
        return self._by_url.get(_url_key(canonical_url))

    def fetch(self, canonical_url: str) -> Fetched | None:
        """The document's bytes, checked against the manifest; None when the mirror lacks it."""
        entry = self.lookup(canonical_url)
        if entry is None:
            return None
        name = entry["file"]
        # Checked without resolving symlinks, so a mirror may link to files kept elsewhere.
        path = Path(os.path.normpath(self.folder / name))
        if not path.is_relative_to(self.folder):
            raise FetchError(f"mirror file {name} lies outside the mirror folder {self.folder}")
        content = self._read(path, name)
        digest = hashlib.sha256(content).hexdigest()
        expected = str(entry.get("sha256", "")).lower()
        if expected and digest != expected:
            raise FetchError(
                f"mirror file {name} does not match its sha256 in {MANIFEST} "
                f"(expected {expected[:12]}…, got {digest[:12]}…)"
            )
        return Fetched.create(content, url=canonical_url, final_url=str(path),
                              content_type=entry.get("media_type") or media_type_for(path.name),
                              origin="mirror", filename=path.name)

    def _read(self, path: Path, name: str) -> bytes:
        try:
            if self.max_bytes is not None and path.stat().st_size > self.max_bytes:
                raise FetchError(too_large_message(f"mirror file {name}", self.max_bytes))
            return path.read_bytes()
        except FileNotFoundError:
            raise FetchError(f"mirror file {name} is listed in {MANIFEST} but missing from {self.folder}") from None
        except OSError as exc:
            raise FetchError(f"cannot read mirror file {name}: {exc.strerror or exc}") from None


def _check_manifest(entries: object, manifest_path: Path) -> None:
    if not isinstance(entries, list):
        raise FetchError(f"{manifest_path} must hold a list of entries")
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        if not (isinstance(entry, dict) and isinstance(entry.get("canonical_url"), str)
                and isinstance(entry.get("file"), str)):
            raise FetchError(f"{manifest_path}: entry {position} needs a canonical_url and a file")
        key = _url_key(entry["canonical_url"])
        if key in seen:
            raise FetchError(f"{manifest_path} lists {entry['canonical_url']} twice")
        seen.add(key)


def _url_key(canonical_url: str) -> str:
    return canonical_url.strip().rstrip("/")
