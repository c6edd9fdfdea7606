"""The catalogue's facts: definitions, cross-references, dates of application, document status.

Rows are kept per document version (written by ingest before the version goes live, removed with
it), and every read joins the live version, so a replaced version's facts disappear at the same
moment as its passages. Targets in other documents are resolved when read: a reference to
Regulation (EU) 2016/679 finds the GDPR from the day it is ingested.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace

from kb.compose_terms import term_key
from kb.references import parent_locators
from kb.types import ApplicationDate, CrossReference, Definition, DocumentFacts

FACT_TABLES = ("definitions", "cross_references", "application_dates", "document_status")
# A document's own act, from its canonical URL: https://eur-lex.europa.eu/eli/reg/2016/679/oj.
ELI = re.compile(r"/eli/(reg|dir|dec)/(\d{4})/(\d+)")
LIVE = "JOIN documents d ON d.doc_id = f.doc_id AND d.version = f.version"


def act_of_url(canonical_url: str) -> str:
    """The act key ("reg:2016/679") of a document published under an ELI, else ""."""
    match = ELI.search(canonical_url)
    return f"{match[1]}:{match[2]}/{int(match[3])}" if match else ""


class CatalogueFacts:
    """Read and write the facts of live documents (one per Catalogue, sharing its connection)."""

    def __init__(self, db: sqlite3.Connection, transaction: Callable, generation: Callable[[], int]):
        self.db = db
        self._transaction = transaction
        self._generation = generation  # the catalogue's: what passage_at's memory is valid for
        self._places: dict[tuple[str, str], str | None] = {}  # passage_at, for one generation
        self._places_generation = -1

    # Writing -----------------------------------------------------------------------------

    def put(self, doc_id: str, version: str, facts: DocumentFacts) -> None:
        """Keep a version's facts, ready for when it goes live; leftovers of versions that are
        neither live nor this one (a crashed ingest) are dropped."""
        with self._transaction() as db:
            live = db.execute("SELECT version FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
            keep = (live[0] if live else version, version)
            for table in FACT_TABLES:
                db.execute(f"DELETE FROM {table} WHERE doc_id=? AND (version NOT IN (?, ?) OR version=?)",
                           (doc_id, *keep, version))
            db.executemany("INSERT INTO definitions VALUES (?,?,?,?,?,?,?)",
                           [(doc_id, version, d.term, term_key(d.term), d.passage_id, d.locator, d.text)
                            for d in facts.definitions])
            db.executemany("INSERT INTO cross_references VALUES (?,?,?,?,?,?,?,?)",
                           [(doc_id, version, r.passage_id, r.words, r.target_locator, r.act,
                             r.target_passage_id, r.external_url) for r in facts.references])
            db.executemany("INSERT OR REPLACE INTO application_dates VALUES (?,?,?,?,?)",
                           [(doc_id, version, d.passage_id, d.applies_from, d.basis) for d in facts.dates])
            if facts.status:
                db.execute("INSERT OR REPLACE INTO document_status VALUES (?,?,?,?)",
                           (doc_id, version, facts.status, facts.status_note))

    # Definitions ---------------------------------------------------------------------------

    def definitions_of(self, term: str, doc_ids: list[str] | None = None) -> list[Definition]:
        """The live definitions of a term, in any of its spellings ("AI systems" finds ‘AI system’)."""
        rows = self.db.execute(
            f"""SELECT f.term, f.passage_id, f.locator, f.text, f.doc_id FROM definitions f {LIVE}
                WHERE f.term_key = ? ORDER BY f.doc_id, f.rowid""", (term_key(term),)).fetchall()
        return [Definition(*row[:4]) for row in rows if doc_ids is None or row[4] in doc_ids]

    def defined_terms(self, doc_ids: list[str] | None = None) -> dict[str, list[Definition]]:
        """Term key -> its live definitions, for the documents named (all when None)."""
        rows = self.db.execute(
            f"""SELECT f.term_key, f.term, f.passage_id, f.locator, f.text, f.doc_id
                FROM definitions f {LIVE} ORDER BY f.doc_id, f.rowid""").fetchall()
        index: dict[str, list[Definition]] = {}
        for row in rows:
            if doc_ids is None or row[5] in doc_ids:
                index.setdefault(row[0], []).append(Definition(*row[1:5]))
        return index

    # Cross-references ----------------------------------------------------------------------

    def refers_to(self, passage_id: str) -> list[CrossReference]:
        """What a live passage points to, each target resolved to a live passage where the
        knowledge base holds it (another document's through its act key)."""
        rows = self.db.execute(
            f"""SELECT f.passage_id, f.words, f.target_locator, f.act, f.target_passage_id, f.external_url
                FROM cross_references f {LIVE} WHERE f.passage_id = ? ORDER BY f.rowid""",
            (passage_id,)).fetchall()
        return [self._resolved(CrossReference(*row)) for row in rows]

    def referred_by(self, passage_id: str) -> list[CrossReference]:
        """The live passages that point to this one, from its own document or from others."""
        doc_id = passage_id.split(":", 1)[0]
        rows = self.db.execute(
            f"""SELECT f.passage_id, f.words, f.target_locator, f.act, f.target_passage_id, f.external_url
                FROM cross_references f {LIVE} WHERE f.target_passage_id = ? ORDER BY f.doc_id, f.rowid""",
            (passage_id,)).fetchall()
        found = [CrossReference(*row) for row in rows]
        document = self.db.execute("SELECT canonical_url FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        act = act_of_url(document[0] or "") if document else ""
        locator = self.db.execute(f"SELECT f.locator FROM passages f {LIVE} WHERE f.passage_id = ?",
                                  (passage_id,)).fetchone()
        if document and locator:
            # Only references naming this provision, one of its ancestors or a part of it can land here.
            ancestors = parent_locators(locator[0])
            marks = ",".join("?" * len(ancestors))
            rows = self.db.execute(
                f"""SELECT f.passage_id, f.words, f.target_locator, f.act, f.target_passage_id, f.external_url
                    FROM cross_references f {LIVE} WHERE f.act IN (?, ?)
                    AND (f.target_locator IN ({marks}) OR f.target_locator LIKE ? || '(%'
                         OR f.target_locator LIKE ? || ',%')
                    ORDER BY f.doc_id, f.rowid""",
                (act or "-", f"doc:{doc_id}", *ancestors, locator[0], locator[0])).fetchall()
            landing: dict[tuple[str, str], str] = {}  # (act, locator) -> passage: many cite "Article 5"
            for row in rows:
                reference = CrossReference(*row)
                key = (reference.act, reference.target_locator)
                if key not in landing:
                    landing[key] = self._resolved(reference).target_passage_id
                if landing[key] == passage_id:
                    found.append(replace(reference, target_passage_id=passage_id))
        return found

    def document_for_act(self, act: str) -> str | None:
        """The live document that is the act ("reg:2016/679" -> "gdpr", "doc:gdpr" -> "gdpr"),
        if the knowledge base holds it."""
        if act.startswith("doc:"):
            row = self.db.execute("SELECT doc_id FROM documents WHERE doc_id=?", (act[4:],)).fetchone()
            return row[0] if row else None
        for doc_id, url in self.db.execute("SELECT doc_id, canonical_url FROM documents"):
            if act_of_url(url or "") == act:
                return doc_id
        return None

    def _resolved(self, reference: CrossReference) -> CrossReference:
        if not reference.act:
            return reference
        doc_id = self.document_for_act(reference.act)
        if doc_id is None:
            return reference
        target = self.passage_at(doc_id, reference.target_locator) if reference.target_locator else None
        if target is None:  # the whole act: its first passage
            row = self.db.execute(
                f"""SELECT f.passage_id FROM passages f {LIVE} WHERE f.doc_id=? ORDER BY f.ordinal LIMIT 1""",
                (doc_id,)).fetchone()
            target = row[0] if row else None
        return CrossReference(reference.passage_id, reference.words, reference.target_locator, reference.act,
                              target or "", reference.external_url)

    def passage_at(self, doc_id: str, locator: str) -> str | None:
        """The live passage holding a provision: its own, an ancestor's that contains it, or its
        first part (the rule ingest/facts_references.py resolves a document's own references by).

        Remembered while the live passages stay the same: guidance cites "Article 5" hundreds of
        times, and each look-up scans the document's locators."""
        generation = self._generation()
        if self._places_generation != generation:
            self._places, self._places_generation = {}, generation
        if (doc_id, locator) not in self._places:
            self._places[doc_id, locator] = self._passage_at(doc_id, locator)
        return self._places[doc_id, locator]

    def _passage_at(self, doc_id: str, locator: str) -> str | None:
        for candidate in parent_locators(locator):
            row = self.db.execute(
                f"""SELECT f.passage_id FROM passages f {LIVE}
                    WHERE f.doc_id = ? AND inside_locator(f.locator, ?)
                    ORDER BY f.locator = ? COLLATE NOCASE DESC, f.ordinal LIMIT 1""",
                (doc_id, candidate, candidate)).fetchone()
            if row:
                return row[0]
        return None

    # Dates and status ----------------------------------------------------------------------

    def applies_from(self, passage_ids: list[str]) -> dict[str, ApplicationDate]:
        """Passage id -> since when its provision applies, for the live passages that have a date."""
        if not passage_ids:
            return {}
        marks = ",".join("?" * len(passage_ids))
        rows = self.db.execute(
            f"""SELECT f.passage_id, f.applies_from, f.basis FROM application_dates f {LIVE}
                WHERE f.passage_id IN ({marks})""", passage_ids).fetchall()
        return {row[0]: ApplicationDate(*row) for row in rows}

    def status(self, doc_ids: list[str]) -> dict[str, tuple[str, str]]:
        """doc_id -> (status, note) for the live documents that are revoked or replaced."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(
            f"""SELECT f.doc_id, f.status, f.status_note FROM document_status f {LIVE}
                WHERE f.doc_id IN ({marks})""", doc_ids).fetchall()
        return {row[0]: (row[1], row[2] or "") for row in rows}
