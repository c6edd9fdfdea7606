"""Reading a document along its own structure: its outline, the passages at a place, and the
place a reference such as "Art. 22 GDPR" points to."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.errors import NotFoundError, UsageError
from kb.references import find_references, parent_locators
from kb.search import document_aliases
from kb.store import Store
from kb.types import Passage, matches_locator


@dataclass
class Part:
    """One heading of a document's outline ("Chapter II › Article 5 Prohibited AI practices")
    with its passages, in document order."""

    heading: str
    passages: list[Passage] = field(default_factory=list)

    @property
    def locators(self) -> list[str]:
        return list(dict.fromkeys(passage.locator for passage in self.passages))


def outline(passages: list[Passage]) -> list[Part]:
    """The document's parts: passages grouped under their heading path, in document order."""
    parts: dict[tuple[str, ...], Part] = {}
    for passage in passages:
        path = tuple(passage.heading_path)
        parts.setdefault(path, Part(" › ".join(path) or passage.title)).passages.append(passage)
    return list(parts.values())


def part_at(parts: list[Part], locator: str) -> tuple[Part, list[Passage]]:
    """The part holding a locator, and its passages at or inside that locator."""
    for part in parts:
        inside = [passage for passage in part.passages if matches_locator(passage.locator, locator)]
        if inside:
            return part, inside
    raise NotFoundError(f"'{locator}' not found in this document; pick a place from its outline")


@dataclass(frozen=True)
class Place:
    """A document and a locator inside it."""

    doc_id: str
    locator: str


def locate(store: Store, reference: str) -> Place:
    """The provision a reference names ("Art. 22 GDPR", "recital 47 AI Act", "Annex III")."""
    documents = store.catalogue.documents()
    found = find_references(reference, document_aliases(documents))
    if not found:
        raise UsageError(f"'{reference}' names no provision; try \"Art. 22 GDPR\" or "
                         "\"Recital 47 AI Act\"")
    wanted = found[0]
    doc_ids = [wanted.doc_id] if wanted.doc_id else [doc["doc_id"] for doc in documents]
    for doc_id in doc_ids:
        vector_id = store.catalogue.first_passage_at(doc_id, parent_locators(wanted.locator))
        if vector_id:
            passage = store.catalogue.passages_by_vector_id([vector_id])[vector_id]
            # A document split more coarsely than the reference opens at the enclosing place.
            locator = wanted.locator if matches_locator(passage.locator, wanted.locator) else passage.locator
            return Place(doc_id, locator)
    where = f"in {wanted.doc_id}" if wanted.doc_id else "in any document"
    raise NotFoundError(f"{wanted.locator} was not found {where}")
