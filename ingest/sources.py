"""The source registry: which documents make up the default corpus (corpus/sources.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

from kb.errors import ConfigError
from kb.types import Source

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_REQUIRED = ("id", "title", "canonical_url")


def load_registry(path: Path) -> list[Source]:
    """Read and validate the registry; a broken entry is a ConfigError naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"source registry not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"source registry {path} is not valid TOML: {exc}") from exc
    known = {f.name for f in fields(Source)}
    sources: list[Source] = []
    for number, entry in enumerate(data.get("document", []), start=1):
        missing = [key for key in _REQUIRED if not entry.get(key)]
        unknown = sorted(set(entry) - known)
        if missing or unknown:
            problem = f"missing {', '.join(missing)}" if missing else f"unknown keys {', '.join(unknown)}"
            raise ConfigError(f"{path}: document #{number} ({entry.get('id', '?')}): {problem}")
        check_id(entry["id"])
        sources.append(Source(**{key: str(value) for key, value in entry.items()}, origin="registry"))
    ids = [source.id for source in sources]
    duplicates = sorted({doc_id for doc_id in ids if ids.count(doc_id) > 1})
    if duplicates:
        raise ConfigError(f"{path}: duplicate ids: {', '.join(duplicates)}")
    return sources


def check_id(doc_id: str) -> str:
    """A document id is lowercase letters, digits, '.', '_' and '-' (it appears in URLs and ids)."""
    if not _ID.match(doc_id):
        raise ConfigError(f"invalid document id '{doc_id}': use lowercase letters, digits, '.', '_' "
                          "or '-', starting with a letter or digit (at most 80 characters)")
    return doc_id


def make_id(text: str) -> str:
    """A document id made from a title or file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug or "document"
