"""The catalogue: a small SQLite database of documents, their current version, and passage text.

It is the source of truth for which version of a document is live. Switching a document to a new
version (new passages in, old ones out, version pointer moved) is one SQLite transaction, so
readers see the old version or the new one, never a mix.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from kb.catalogue_facts import FACT_TABLES, CatalogueFacts
from kb.errors import NotFoundError, StoreError
from kb.types import Fetched, Passage, Source, matches_locator, vector_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    issuer TEXT, jurisdiction TEXT, doc_type TEXT, date TEXT,
    canonical_url TEXT, origin TEXT, parser TEXT,
    version TEXT NOT NULL,
    sha256 TEXT, fetched_at TEXT, final_url TEXT, content_type TEXT, fetched_from TEXT,
    passages INTEGER NOT NULL DEFAULT 0,
    embed_model TEXT, ingested_at TEXT,
    aliases TEXT,                        -- JSON list of names people use ("EO 14110")
    status TEXT, status_date TEXT, status_note TEXT, replaced_by TEXT  -- "" while in force
);
CREATE TABLE IF NOT EXISTS passages (
    vector_id TEXT PRIMARY KEY,          -- passage_id@version, the id in the vector store
    passage_id TEXT NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    locator TEXT NOT NULL, kind TEXT, url TEXT,
    heading_path TEXT, context TEXT, text TEXT NOT NULL, tokens INTEGER,
    explains TEXT                        -- for a recital: passage_id of the provision it explains
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, ordinal);
CREATE INDEX IF NOT EXISTS passages_pid ON passages(passage_id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL               -- "generation": bumped by every change to the live passages
);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
-- Facts ingest reads from a document version (ingest/facts.py); only the live version's are seen.
CREATE TABLE IF NOT EXISTS definitions (
    doc_id TEXT NOT NULL, version TEXT NOT NULL,
    term TEXT NOT NULL, term_key TEXT NOT NULL,  -- kb/compose_terms.py term_key(term)
    passage_id TEXT NOT NULL, locator TEXT, text TEXT
);
CREATE INDEX IF NOT EXISTS definitions_key ON definitions(term_key);
CREATE TABLE IF NOT EXISTS cross_references (
    doc_id TEXT NOT NULL, version TEXT NOT NULL,
    passage_id TEXT NOT NULL, words TEXT, target_locator TEXT,
    act TEXT,                            -- "" = the document's own provision, else "reg:2016/679"
    target_passage_id TEXT, external_url TEXT
);
CREATE INDEX IF NOT EXISTS cross_references_from ON cross_references(passage_id);
CREATE INDEX IF NOT EXISTS cross_references_to ON cross_references(target_passage_id);
CREATE INDEX IF NOT EXISTS cross_references_act ON cross_references(act);
CREATE TABLE IF NOT EXISTS application_dates (
    doc_id TEXT NOT NULL, version TEXT NOT NULL,
    passage_id TEXT NOT NULL, applies_from TEXT NOT NULL, basis TEXT,
    PRIMARY KEY (passage_id, version)
);
CREATE TABLE IF NOT EXISTS document_status (
    doc_id TEXT NOT NULL, version TEXT NOT NULL,
    status TEXT NOT NULL, status_note TEXT,  -- "revoked" or "replaced"; no row while in force
    PRIMARY KEY (doc_id, version)
);
CREATE TABLE IF NOT EXISTS user_sources (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,                -- JSON of kb.types.Source
    added_at TEXT NOT NULL
);
"""


# Columns added after the first release; older catalogues get them on open.
_ADDED_DOCUMENT_COLUMNS = ("aliases", "status", "status_date", "status_note", "replaced_by")


def now_iso() -> str:
    """Current UTC time, ISO 8601, seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Catalogue:
    """Documents, versions and passages in SQLite (WAL mode, so reads never wait on a writer)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                      isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.create_function("inside_locator", 2, matches_locator, deterministic=True)
            self.db.executescript(_SCHEMA)
            self._add_missing_columns()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the catalogue {path} cannot be opened: {exc}") from exc
        self.facts = CatalogueFacts(self.db, self.transaction, self.generation)

    def _add_missing_columns(self) -> None:
        """Bring a catalogue written by an older version up to the current documents table."""
        present = {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}
        for column in _ADDED_DOCUMENT_COLUMNS:
            if column not in present:
                self.db.execute(f"ALTER TABLE documents ADD COLUMN {column} TEXT")

    @contextmanager
    def transaction(self):
        """One atomic write: everything inside commits together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # Documents -----------------------------------------------------------------------------

    def documents(self) -> list[dict]:
        """Every live document with its metadata and passage count, by id."""
        rows = self.db.execute("SELECT * FROM documents ORDER BY doc_id").fetchall()
        return [dict(row) for row in rows]

    def document(self, doc_id: str) -> dict | None:
        """One live document, or None."""
        row = self.db.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return dict(row) if row else None

    def update_metadata(self, source: Source) -> None:
        """Refresh what the registry says about a stored document (its names and status) without
        re-ingesting it: a document revoked since it was ingested says so at once."""
        with self.transaction() as db:
            db.execute("""UPDATE documents SET aliases=?, status=?, status_date=?, status_note=?, replaced_by=?
                          WHERE doc_id=?""", (*_registry_values(source), source.id))

    def live_versions(self) -> dict[str, str]:
        """doc_id -> live version."""
        return dict(self.db.execute("SELECT doc_id, version FROM documents").fetchall())

    def switch_version(self, source: Source, fetched: Fetched, version: str, parser: str,
                       passages: list[Passage], embed_model: str,
                       links: dict[str, str]) -> None:
        """Make `version` the live one: its passages in, the previous version's out, atomically."""
        rows = [(vector_id(p.passage_id, version), p.passage_id, p.doc_id, version, p.ordinal, p.locator,
                 p.kind, p.url, json.dumps(p.heading_path), p.context, p.text, p.tokens,
                 links.get(p.passage_id))
                for p in passages]
        with self.transaction() as db:
            db.execute("DELETE FROM passages WHERE doc_id=?", (source.id,))
            db.execute(
                """INSERT OR REPLACE INTO documents (doc_id, title, issuer, jurisdiction, doc_type, date,
                   canonical_url, origin, parser, version, sha256, fetched_at, final_url, content_type,
                   fetched_from, passages, embed_model, ingested_at,
                   aliases, status, status_date, status_note, replaced_by)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (source.id, source.title, source.issuer, source.jurisdiction, source.doc_type,
                 source.date, source.canonical_url, source.origin, parser, version, fetched.sha256,
                 fetched.fetched_at, fetched.final_url, fetched.content_type, fetched.origin,
                 len(passages), embed_model, now_iso(), *_registry_values(source)))
            db.executemany("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            for table in FACT_TABLES:  # the replaced version's facts go with it
                db.execute(f"DELETE FROM {table} WHERE doc_id=? AND version != ?", (source.id, version))
            self._bump_generation(db)

    def remove_document(self, doc_id: str) -> None:
        """Forget a document and its passages."""
        with self.transaction() as db:
            db.execute("DELETE FROM passages WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            for table in FACT_TABLES:
                db.execute(f"DELETE FROM {table} WHERE doc_id=?", (doc_id,))
            self._bump_generation(db)

    @staticmethod
    def _bump_generation(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    def generation(self) -> int:
        """A number that changes whenever the live passages change (derived indexes compare it)."""
        return self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]

    # Passages ------------------------------------------------------------------------------

    def passages(self, doc_id: str) -> list[Passage]:
        """The live passages of a document, in document order."""
        if self.document(doc_id) is None:
            raise NotFoundError(f"no document with id '{doc_id}' (see `kb list`)")
        rows = self.db.execute(
            """SELECT p.*, d.title, d.issuer, d.jurisdiction, d.doc_type, d.date, d.canonical_url,
                   d.status, d.status_date, d.status_note, d.replaced_by
               FROM passages p JOIN documents d USING (doc_id)
               WHERE p.doc_id=? ORDER BY p.ordinal""", (doc_id,)).fetchall()
        return [_passage(row) for row in rows]

    def passages_by_vector_id(self, vector_ids: list[str]) -> dict[str, Passage]:
        """Live passages for vector-store ids; ids of replaced versions are simply absent."""
        return self._live_passages("vector_id", vector_ids)

    def passages_by_id(self, passage_ids: list[str]) -> dict[str, Passage]:
        """Live passages by passage id (the ids facts are kept under)."""
        return self._live_passages("passage_id", passage_ids)

    def _live_passages(self, key: str, ids: list[str]) -> dict[str, Passage]:
        """Live passages whose `key` column ("vector_id" or "passage_id") is one of `ids`, by it."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"""SELECT p.*, d.title, d.issuer, d.jurisdiction, d.doc_type, d.date, d.canonical_url,
                   d.status, d.status_date, d.status_note, d.replaced_by
                FROM passages p JOIN documents d ON d.doc_id = p.doc_id AND d.version = p.version
                WHERE p.{key} IN ({marks})""", ids).fetchall()
        return {row[key]: _passage(row) for row in rows}

    def passages_inside(self, doc_id: str, locator: str) -> list[Passage]:
        """The live passages at or inside a locator, in document order ("Article 5(1)" and its points)."""
        found = self.passages_by_vector_id(self.vector_ids_inside(doc_id, locator))
        return sorted(found.values(), key=lambda passage: passage.ordinal)

    def explaining_recitals(self, passage_ids: list[str]) -> dict[str, list[str]]:
        """Provision passage id -> the live recital passages linked to it at ingest, in order."""
        if not passage_ids:
            return {}
        marks = ",".join("?" * len(passage_ids))
        rows = self.db.execute(
            f"""SELECT r.explains, r.passage_id FROM passages r JOIN documents d
                ON d.doc_id = r.doc_id AND d.version = r.version
                WHERE r.explains IN ({marks}) ORDER BY r.ordinal""", passage_ids)
        linked: dict[str, list[str]] = {}
        for provision, recital in rows:
            if recital not in linked.setdefault(provision, []):
                linked[provision].append(recital)
        return linked

    def explained_provisions(self, vector_ids: list[str]) -> dict[str, str]:
        """Recital vector id -> vector id of the live provision it explains."""
        if not vector_ids:
            return {}
        marks = ",".join("?" * len(vector_ids))
        rows = self.db.execute(
            f"""SELECT r.vector_id, r.explains, r.version FROM passages r
                WHERE r.vector_id IN ({marks}) AND r.explains IS NOT NULL""", vector_ids)
        return {recital: vector_id(explains, version) for recital, explains, version in rows}

    def keyword_documents(self) -> tuple[list[str], list[str]]:
        """Vector ids and the text to index for keywords: title, heading path, lead-in, passage."""
        rows = self.db.execute(
            """SELECT p.vector_id, d.title, p.heading_path, p.context, p.text
               FROM passages p JOIN documents d ON d.doc_id = p.doc_id AND d.version = p.version
               ORDER BY p.doc_id, p.ordinal""").fetchall()
        texts = [" \n".join([row[1], " ".join(json.loads(row[2] or "[]")), row[3] or "", row[4]])
                 for row in rows]
        return [row[0] for row in rows], texts

    def first_passage_at(self, doc_id: str, locators: list[str]) -> str | None:
        """Vector id of the first live passage at or inside the first of `locators` that exists."""
        for locator in locators:
            row = self.db.execute(
                """SELECT p.vector_id FROM passages p JOIN documents d
                   ON d.doc_id = p.doc_id AND d.version = p.version
                   WHERE p.doc_id = ? AND inside_locator(p.locator, ?)
                   ORDER BY p.locator = ? COLLATE NOCASE DESC, p.ordinal LIMIT 1""",
                (doc_id, locator, locator)).fetchone()
            if row:
                return row[0]
        return None

    def first_passage_containing(self, phrase: str, doc_ids: list[str]) -> str | None:
        """Vector id of the first live passage whose text holds `phrase` as a whole token run
        ("GOVERN 1.1" but not "GOVERN 1.10"), among `doc_ids`."""
        if not doc_ids:
            return None
        boundary = re.compile(re.escape(phrase) + r"(?![\w.]*\w)")
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(
            f"""SELECT p.vector_id, p.text FROM passages p JOIN documents d
                ON d.doc_id = p.doc_id AND d.version = p.version
                WHERE p.doc_id IN ({marks}) AND instr(p.text, ?) > 0
                ORDER BY p.doc_id, p.ordinal""", [*doc_ids, phrase])
        return next((row[0] for row in rows if boundary.search(row[1])), None)

    def vector_ids_inside(self, doc_id: str, *locators: str) -> list[str]:
        """Vector ids of live passages at or inside any of `locators`, in document order."""
        clauses = " OR ".join(["inside_locator(p.locator, ?)"] * len(locators))
        rows = self.db.execute(
            f"""SELECT p.vector_id FROM passages p JOIN documents d
                ON d.doc_id = p.doc_id AND d.version = p.version
                WHERE p.doc_id = ? AND ({clauses}) ORDER BY p.ordinal""", [doc_id, *locators])
        return [row[0] for row in rows]

    def live_vector_ids(self) -> dict[str, set[str]]:
        """doc_id -> vector-store ids of its live passages, for every live document."""
        live: dict[str, set[str]] = {doc_id: set() for doc_id in self.live_versions()}
        rows = self.db.execute("""SELECT p.doc_id, p.vector_id FROM passages p JOIN documents d
                                  ON d.doc_id = p.doc_id AND d.version = p.version""")
        for doc_id, passage_vector_id in rows:
            live[doc_id].add(passage_vector_id)
        return live

    def vector_ids(self, doc_id: str) -> list[str]:
        """Vector-store ids of a document's live passages."""
        rows = self.db.execute("SELECT vector_id FROM passages WHERE doc_id=?", (doc_id,))
        return [row[0] for row in rows]

    # User-added sources --------------------------------------------------------------------

    def user_sources(self) -> list[Source]:
        """Documents people added with `kb add`, re-ingested with the registry."""
        rows = self.db.execute("SELECT source FROM user_sources ORDER BY doc_id").fetchall()
        return [Source(**json.loads(row[0])) for row in rows]

    def add_user_source(self, source: Source) -> None:
        """Remember a user-added document."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO user_sources VALUES (?,?,?)",
                       (source.id, json.dumps(asdict(source)), now_iso()))

    def remove_user_source(self, doc_id: str) -> None:
        """Forget a user-added document's registration."""
        with self.transaction() as db:
            db.execute("DELETE FROM user_sources WHERE doc_id=?", (doc_id,))

    def close(self) -> None:
        self.db.close()


def _registry_values(source: Source) -> tuple[str, str, str, str, str]:
    return (json.dumps(list(source.aliases), ensure_ascii=False), source.status, source.status_date,
            source.status_note, source.replaced_by)


def stored_aliases(document: dict) -> list[str]:
    """The names a documents() row says people use for the document (stored as JSON)."""
    return json.loads(document.get("aliases") or "[]")


def _passage(row: sqlite3.Row) -> Passage:
    # A revoked or replaced document says so with every passage cited from it.
    metadata = {key: row[key] or "" for key in
                ("title", "issuer", "jurisdiction", "doc_type", "date", "canonical_url",
                 "status", "status_date", "status_note", "replaced_by")}
    return Passage(
        passage_id=row["passage_id"], doc_id=row["doc_id"], title=row["title"],
        locator=row["locator"], url=row["url"], text=row["text"],
        heading_path=json.loads(row["heading_path"] or "[]"), context=row["context"] or "",
        kind=row["kind"] or "", ordinal=row["ordinal"], tokens=row["tokens"] or 0,
        metadata=metadata,
    )
