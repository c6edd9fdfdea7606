"""`kb doctor`: check that the catalogue, the vector store and the keyword index agree, and repair.

The catalogue (SQLite) is the source of truth. Chroma must hold exactly one vector per live
passage, made by the configured embedding model; the keyword index must reflect the catalogue's
current generation. Vectors nobody points to are deleted, missing ones are re-embedded from the
passage text the catalogue keeps, and the keyword index is rebuilt; what cannot be repaired here
is reported with the command that fixes it.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb.embedding import embed_model_name, packaged_model_path
from kb.store import Store
from kb.types import vector_id

METADATA_FIELDS = ("jurisdiction", "issuer", "doc_type", "date")


@dataclass
class Finding:
    """One problem: what is wrong, where, and whether `repair` can mend it."""

    problem: str  # orphan-vectors, missing-vectors, passage-count, embed-model, dimension, keyword-index
    message: str
    doc_id: str = ""
    repairable: bool = True
    repaired: bool = False
    vector_ids: list[str] = field(default_factory=list, repr=False)

    def line(self) -> str:
        state = "repaired" if self.repaired else "problem"
        return f"{state}: {self.message}"


@dataclass
class Health:
    """What a check saw: the totals, and every finding."""

    documents: int
    passages: int
    vectors: int
    findings: list[Finding]

    @property
    def healthy(self) -> bool:
        return all(finding.repaired for finding in self.findings)

    def lines(self) -> list[str]:
        """One line per finding, then the verdict."""
        totals = f"{self.documents} documents, {self.passages} passages, {self.vectors} vectors"
        if self.healthy:
            verdict = f"ok: {totals}; catalogue, vectors and keyword index agree"
        elif any(finding.repairable and not finding.repaired for finding in self.findings):
            verdict = f"not healthy: {totals}; run `kb doctor --repair`"
        else:
            verdict = f"not healthy: {totals}; see the commands above"
        return [finding.line() for finding in self.findings] + [verdict]

    def to_json(self) -> dict:
        findings = [{k: v for k, v in asdict(f).items() if k != "vector_ids"} for f in self.findings]
        return {"healthy": self.healthy, "documents": self.documents, "passages": self.passages,
                "vectors": self.vectors, "findings": findings}


def check(store: Store) -> Health:
    """Compare catalogue, vectors and keyword index; change nothing."""
    catalogue = store.catalogue
    documents = {doc["doc_id"]: doc for doc in catalogue.documents()}
    live_ids = catalogue.live_vector_ids()
    vector_docs = store.vector_documents()
    findings = _vector_findings(documents, live_ids, vector_docs)
    findings += _model_findings(store, documents)
    findings += _keyword_findings(store, {vid for ids in live_ids.values() for vid in ids})
    return Health(documents=len(documents), passages=sum(len(ids) for ids in live_ids.values()),
                  vectors=len(vector_docs), findings=findings)


def repair(store: Store, embedder_factory) -> Health:
    """Mend what `check` finds (call it holding the write lock), then check again.

    The result lists what was repaired, then whatever the second check still finds.
    """
    repaired = [finding for finding in check(store).findings if finding.repairable]
    embedder = functools.cache(embedder_factory)  # loaded once, and only if something needs it
    for finding in repaired:
        if finding.problem == "orphan-vectors":
            store.delete_vectors(finding.vector_ids)
        elif finding.problem == "missing-vectors":
            _reembed(store, embedder(), finding.doc_id, set(finding.vector_ids))
        elif finding.problem == "keyword-index":
            store.refresh_keyword_index(force=True)
        finding.repaired = True
    after = check(store)
    after.findings = repaired + after.findings
    return after


def _vector_findings(documents: dict[str, dict], live_ids: dict[str, set[str]],
                     vector_docs: dict[str, str]) -> list[Finding]:
    findings = []
    orphans: dict[str, list[str]] = defaultdict(list)
    all_live = {vid for ids in live_ids.values() for vid in ids}
    for stored_id, doc_id in vector_docs.items():
        if stored_id not in all_live:
            orphans[doc_id].append(stored_id)
    for doc_id, ids in sorted(orphans.items()):
        whose = f"'{doc_id}'" if doc_id in documents else f"'{doc_id}' (not in the catalogue)"
        findings.append(Finding("orphan-vectors", f"{len(ids)} vectors of {whose} belong to no live "
                                "version; repair deletes them", doc_id, vector_ids=sorted(ids)))
    for doc_id, live in sorted(live_ids.items()):
        declared = documents[doc_id]["passages"]
        if declared != len(live):
            findings.append(Finding(
                "passage-count", f"'{doc_id}' lists {declared} passages but the catalogue holds "
                f"{len(live)}; run `kb ingest --force --only {doc_id}`", doc_id, repairable=False))
        missing = sorted(live - vector_docs.keys())
        if missing:
            findings.append(Finding(
                "missing-vectors", f"{len(missing)} of {len(live)} passages of '{doc_id}' have no "
                "vector, so meaning search cannot find them; repair re-embeds them from the "
                "catalogue text", doc_id, vector_ids=missing))
    return findings


def _model_findings(store: Store, documents: dict[str, dict]) -> list[Finding]:
    """Vectors made by another model than the configured one cannot be compared with queries."""
    configured = embed_model_name(store.settings)
    findings = []
    for doc_id, doc in sorted(documents.items()):
        if (doc.get("embed_model") or configured) != configured:
            findings.append(Finding(
                "embed-model", f"'{doc_id}' was embedded with {doc['embed_model']} but the "
                f"configured model is {configured}; run `kb ingest --force --only {doc_id}`",
                doc_id, repairable=False))
    stored, expected = store.vector_dimension(), model_dimension(store.settings)
    if stored and expected and stored != expected:
        findings.append(Finding(
            "dimension", f"the vector store holds {stored}-dimensional vectors but "
            f"{configured} makes {expected}-dimensional ones; delete {store.settings.chroma_path} "
            "and run `kb ingest --force`", repairable=False))
    return findings


def _keyword_findings(store: Store, live: set[str]) -> list[Finding]:
    built, current = store.keyword.built_generation(), store.catalogue.generation()
    if built is None and not live:
        return []  # nothing ingested yet: the first search or ingest builds it
    if built is None:
        return [Finding("keyword-index", "the keyword index is missing or unreadable; repair rebuilds it")]
    if built != current:
        return [Finding("keyword-index", f"the keyword index reflects catalogue generation {built}, "
                        f"the catalogue is at {current}; repair rebuilds it")]
    try:
        indexed = store.keyword.saved_ids()
    except Exception as exc:  # any damage to the saved files shows up here
        return [Finding("keyword-index", f"the keyword index files cannot be read ({type(exc).__name__}: "
                        f"{exc}); repair rebuilds it")]
    if Counter(indexed) != Counter(live):
        return [Finding("keyword-index", f"the keyword index covers {len(set(indexed) & live)} of "
                        f"{len(live)} live passages and {len(set(indexed) - live)} others; "
                        "repair rebuilds it")]
    return []


def _reembed(store: Store, embedder, doc_id: str, vector_ids: set[str]) -> None:
    """Embed missing passages again from the catalogue text, exactly as ingest did."""
    doc = store.catalogue.document(doc_id)
    if doc is None:  # removed since the check
        return
    version = doc["version"]
    passages = [p for p in store.catalogue.passages(doc_id) if vector_id(p.passage_id, version) in vector_ids]
    embeddings = embedder.embed([embedder.embedding_input(p) for p in passages])
    metadata = {key: doc.get(key) or "" for key in METADATA_FIELDS}
    store.add_vectors(doc_id, version, metadata, passages, embeddings)


def model_dimension(settings) -> int | None:
    """The configured model's output dimension read from its files (no loading), None if unknown."""
    folder = Path(settings.embed_model) if settings.embed_model else packaged_model_path()
    try:
        modules = json.loads((folder / "modules.json").read_text())
        dimension = None
        for module in modules:
            config = folder / module.get("path", "") / "config.json"
            if module.get("type", "").endswith("Pooling"):
                dimension = json.loads(config.read_text()).get("word_embedding_dimension")
            elif module.get("type", "").endswith("Dense"):
                dimension = json.loads(config.read_text()).get("out_features")
        return dimension
    except (OSError, ValueError, AttributeError):
        return None
