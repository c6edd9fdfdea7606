"""Facts a document states about itself, read from its passages at ingest:

    definitions      (ingest/facts_definitions.py)  "‘deep fake’ means ..." in Article 3(60)
    cross-references (ingest/facts_references.py)   Article 50(6) -> Article 50(1) ... 50(4)
    dates            (ingest/facts_dates.py)        Article 5 applies from 2025-02-02 (Article 113(a))

Pure functions of the passages and the source: the catalogue keeps the result with the document
version it was read from (kb/catalogue.py), so a new version brings its own facts.
"""

from __future__ import annotations

from ingest.facts_dates import application_dates
from ingest.facts_definitions import find_definitions
from ingest.facts_references import find_cross_references
from kb.types import DocumentFacts, Passage, Source


def extract_facts(passages: list[Passage], source: Source,
                  aliases: dict[str, str] | None = None) -> DocumentFacts:
    """Definitions, cross-references and dates of application of one document's passages;
    `aliases` (name -> doc_id) are the names other documents are cited by ("AI Act")."""
    return DocumentFacts(
        definitions=find_definitions(passages),
        references=find_cross_references(passages, source.canonical_url, aliases),
        dates=application_dates(passages),
        status=source.status,
        status_note=source.status_note,
    )
