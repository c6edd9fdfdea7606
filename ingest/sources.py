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
STATUSES = ("", "revoked", "replaced")  # "" = in force


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
        sources.append(_source(entry, f"{path}: document #{number} ({entry['id']})"))
    ids = [source.id for source in sources]
    duplicates = sorted({doc_id for doc_id in ids if ids.count(doc_id) > 1})
    if duplicates:
        raise ConfigError(f"{path}: duplicate ids: {', '.join(duplicates)}")
    _check_links(sources, path)
    return sources


def registry_aliases(sources: list[Source]) -> dict[str, str]:
    """Each alias that names one document ("EO 14110") -> that document's id. A name shared by a
    family ("Llama 4": licence and use policy) makes search prefer the family but names no
    single document a provision could belong to."""
    owners: dict[str, set[str]] = {}
    for source in sources:
        for alias in source.aliases:
            owners.setdefault(alias, set()).add(source.id)
    return {alias: next(iter(ids)) for alias, ids in owners.items() if len(ids) == 1}


def _source(entry: dict, where: str) -> Source:
    """One registry entry as a Source: text fields as text, aliases as a list of names."""
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ConfigError(f"{where}: aliases must be a list of names, e.g. aliases = [\"EO 14110\"]")
    values = {key: str(value) for key, value in entry.items() if key != "aliases"}
    if values.get("status", "") not in STATUSES:
        raise ConfigError(f"{where}: status must be \"revoked\" or \"replaced\" (omit it while "
                          f"the document is in force), not \"{values['status']}\"")
    if values.get("status") and not values.get("status_note"):
        raise ConfigError(f"{where}: a {values['status']} document needs a status_note saying by what")
    return Source(**values, aliases=tuple(a.strip() for a in aliases), origin="registry")


def _check_links(sources: list[Source], path: Path) -> None:
    """replaced_by names a document of the registry."""
    ids = {source.id for source in sources}
    for source in sources:
        if source.replaced_by and source.replaced_by not in ids:
            raise ConfigError(f"{path}: {source.id} is replaced_by '{source.replaced_by}', "
                              "which is not a document of the registry")


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
