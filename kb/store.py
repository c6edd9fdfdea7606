"""The store: Chroma vectors and the SQLite catalogue, kept in step.

Chroma holds only what a search needs from it: the vector, its id (`passage_id@version`) and a
few metadata fields for filters and clean-up. The text lives once, in the catalogue; storing it in
Chroma too (as llama-index's ChromaVectorStore does, text plus a JSON copy of the node) made
inserts 1.6 times slower and the collection 4 times bigger (bench/scale.py).

Replacing a document: the new version's vectors are added under new ids, the catalogue switches
to the new version in one transaction, then the old vectors are deleted. Searches only accept
vectors of live versions, so they see the old version or the new one, never a mix; a crash at
any point leaves the previous version searchable.

Other processes' writes: a local Chroma never sees the vectors another process adds after it
loaded them, so a store that only reads (the app while `kb ingest` runs) opens a fresh view of
them whenever the catalogue generation moves on (kb/vector_view.py).
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from kb.catalogue import Catalogue
from kb.config import Settings
from kb.errors import StoreError
from kb.keyword import KeywordIndex
from kb.types import Fetched, Passage, Source, vector_id
from kb.vector_view import VectorView, local_view

log = logging.getLogger(__name__)

# Collection metadata naming the data directory (store-id file) whose catalogue it serves.
_OWNER_KEY = "kb_data_dir"


def open_collection(client, settings: Settings):
    """The configured Chroma collection (cosine space) of `client`."""
    try:
        collection = client.get_or_create_collection(
            settings.collection, embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": settings.hnsw_ef_search}})
        if (collection.configuration.get("hnsw") or {}).get("ef_search") != settings.hnsw_ef_search:
            collection.modify(configuration={"hnsw": {"ef_search": settings.hnsw_ef_search}})
        claim_collection(collection, settings)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot open the Chroma collection '{settings.collection}' at "
                         f"{vector_store_place(settings)}: {exc}") from exc
    return collection


def server_client(settings: Settings):
    """chromadb's HttpClient for KB_CHROMA_URL."""
    import chromadb

    url = urlsplit(settings.chroma_url)
    https = url.scheme == "https"
    try:
        return chromadb.HttpClient(host=url.hostname or "", port=url.port or (443 if https else 8000),
                                   ssl=https, settings=chromadb.Settings(anonymized_telemetry=False))
    except Exception as exc:  # chromadb raises ValueError after a failed heartbeat
        raise StoreError(f"cannot reach the Chroma server at {settings.chroma_url}: is `chroma run` "
                         "started?") from exc


def vector_store_place(settings: Settings) -> str:
    """Where the vectors live, for messages."""
    return f"the Chroma server {settings.chroma_url}" if settings.chroma_url else str(settings.chroma_path)


def claim_collection(collection, settings: Settings) -> None:
    """Mark the collection as this data directory's, or refuse one that another data directory uses.

    Removing a document deletes its vectors by document id, so two catalogues sharing one
    collection on a server would delete each other's vectors.
    """
    marker = settings.home / "store-id"
    if not marker.is_file():
        marker.write_text(uuid.uuid4().hex)
    data_dir_id = marker.read_text().strip()
    metadata = dict(collection.metadata or {})
    owner = metadata.get(_OWNER_KEY)
    if owner is None:
        collection.modify(metadata={**metadata, _OWNER_KEY: data_dir_id})
    elif owner != data_dir_id:
        raise StoreError(
            f"the Chroma collection '{settings.collection}' at {vector_store_place(settings)} belongs "
            f"to another data directory; give {settings.home} its own with KB_COLLECTION=<name>")


def version_key(doc_id: str, version: str) -> str:
    """The vector metadata value that marks a document version."""
    return f"{doc_id}@{version}"


def vector_records(doc_id: str, version: str, metadata: dict[str, str], passages: list[Passage],
                   embeddings) -> dict:
    """Chroma ids, vectors and metadata for one document version (id `passage_id@version`)."""
    if len(passages) != len(embeddings):
        raise ValueError(f"{len(passages)} passages but {len(embeddings)} embeddings")
    fields = {"doc_id": doc_id, "version_key": version_key(doc_id, version),
              **{key: value or "" for key, value in metadata.items()}}
    return {"ids": [vector_id(p.passage_id, version) for p in passages],
            "embeddings": [list(map(float, vector)) for vector in embeddings],
            "metadatas": [dict(fields) for _ in passages]}


class Store:
    """Catalogue plus vectors; the only code that writes either."""

    def __init__(self, settings: Settings):
        settings.home.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.catalogue = Catalogue(settings.catalogue_path)
        self._view_lock = threading.Lock()
        self._open_vectors()
        self.keyword = KeywordIndex(settings.home / "keyword")
        self._write_lock = FileLock(str(settings.home / "write.lock"))

    def _open_vectors(self) -> None:
        """Open the Chroma collection: on the server, or in this process's view of the local one."""
        if self.settings.chroma_url:
            self._view: VectorView | None = None
            client = server_client(self.settings)
        else:
            self._view = local_view(self.settings.chroma_path, self.catalogue.generation)
            client = self._view.client
        self.collection = open_collection(client, self.settings)
        try:
            self._max_batch = max(1, int(client.get_max_batch_size()))
        except Exception:  # a server too old to say
            self._max_batch = 1000

    def _vectors_up_to_date(self) -> None:
        """Reopen a local collection whose view is behind the catalogue (a Chroma server serves
        every process the same vectors)."""
        if self._view is None or self._view.current(self.catalogue.generation()):
            return
        with self._view_lock:
            if self._view is not None and not self._view.current(self.catalogue.generation()):
                self._open_vectors()

    def _wrote_vectors(self) -> None:
        if self._view is not None:
            self._view.wrote(self.catalogue.generation())

    @contextmanager
    def writing(self):
        """Hold the data directory's write lock; a second writer gets a clear error at once."""
        try:
            self._write_lock.acquire(timeout=0)
        except Timeout as exc:
            raise StoreError(
                f"another kb command is changing {self.settings.home}; wait for it to finish") from exc
        try:
            self._vectors_up_to_date()  # doctor reads vectors under the lock too
            yield
        finally:
            self._write_lock.release()

    def refresh_keyword_index(self, force: bool = False) -> bool:
        """Rebuild the keyword index if the catalogue changed since its last build."""
        if force or self.keyword.built_generation() != self.catalogue.generation():
            self.keyword.rebuild(self.catalogue)
            return True
        return False

    def ensure_keyword_index(self) -> None:
        """For readers: a keyword index as new as the catalogue. A missing or stale saved build is
        rebuilt; while a writer holds the lock (it saves one when it finishes) this process indexes
        the live passages in memory, so that documents it has switched stay searchable."""
        if self.keyword.generation() == self.catalogue.generation():
            return
        try:
            self._write_lock.acquire(timeout=0)
        except Timeout:
            self.keyword.index_in_memory(self.catalogue)
            return
        try:
            self.refresh_keyword_index()
        finally:
            self._write_lock.release()

    def replace_document(self, source: Source, fetched: Fetched, version: str, parser: str,
                         passages: list[Passage], embeddings: list[list[float]],
                         embed_model: str, links: dict[str, str] | None = None) -> None:
        """Make `version` of a document live, with its passages and their embeddings."""
        key = version_key(source.id, version)
        metadata = {"jurisdiction": source.jurisdiction, "issuer": source.issuer,
                    "doc_type": source.doc_type, "date": source.date}
        try:
            self.collection.delete(where={"version_key": key})  # leftovers of a crashed attempt
            self.add_vectors(source.id, version, metadata, passages, embeddings)
        except Exception as exc:
            self._delete_where({"version_key": key})
            raise StoreError(f"could not store the passages of '{source.id}': {exc}; "
                             "its previous version is unchanged") from exc
        self.catalogue.switch_version(source, fetched, version, parser, passages, embed_model,
                                      links or {})
        self._wrote_vectors()
        # The old version's vectors. Other documents' leftovers (of a killed command) are swept
        # by delete_stale_vectors() once per ingest or add: sweeping here, per document, scans
        # the whole collection each time (quadratic in a bulk load).
        self._delete_where({"$and": [{"doc_id": source.id}, {"version_key": {"$ne": key}}]})

    def add_vectors(self, doc_id: str, version: str, metadata: dict[str, str],
                    passages: list[Passage], embeddings) -> None:
        """Write the vectors of one document version, in batches Chroma accepts."""
        records = vector_records(doc_id, version, metadata, passages, embeddings)
        step = self._max_batch
        for start in range(0, len(records["ids"]), step):
            self.collection.add(**{name: values[start:start + step]
                                   for name, values in records.items()})

    def remove_document(self, doc_id: str) -> None:
        """Remove a document from the catalogue, then its vectors."""
        self.catalogue.remove_document(doc_id)
        if self._delete_where({"doc_id": doc_id}):
            self._wrote_vectors()

    def delete_stale_vectors(self) -> None:
        """Delete the vectors of every version that is not live: the leftovers of a command that
        was killed between writing vectors and switching the catalogue, or before the old
        version's vectors were deleted."""
        live = [version_key(doc_id, version)
                for doc_id, version in self.catalogue.live_versions().items()]
        if live:
            self._delete_where({"version_key": {"$nin": live}})
        elif self.collection.count():
            self.collection.delete(ids=self.collection.get(include=[])["ids"])

    def delete_vectors(self, vector_ids: list[str]) -> None:
        """Delete vectors by id (kb doctor's repair of orphans)."""
        if vector_ids:
            self.collection.delete(ids=list(vector_ids))

    def vector_documents(self) -> dict[str, str]:
        """Vector id -> the doc_id its metadata names ("?" when none), for every stored vector."""
        stored = self.collection.get(include=["metadatas"])
        return {vector_id: (metadata or {}).get("doc_id", "?")
                for vector_id, metadata in zip(stored["ids"], stored["metadatas"], strict=True)}

    def vector_dimension(self) -> int | None:
        """The length of the stored vectors (None when there are none)."""
        sample = self.collection.get(limit=1, include=["embeddings"])["embeddings"]
        return len(sample[0]) if sample is not None and len(sample) else None

    def _delete_where(self, where: dict) -> bool:
        """Delete vectors by metadata; False (logged) when Chroma refused."""
        try:
            self.collection.delete(where=where)
        except Exception as exc:  # unreachable vectors are invisible to search; doctor cleans them
            log.warning("could not delete stale vectors (%s): %s", where, exc)
            return False
        return True

    def dense_search(self, embedding: list[float], k: int,
                     allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(vector id, cosine similarity) of the k nearest passages (of `allowed` documents).

        Ids of versions that are not live may come back; the catalogue lookup drops them. A
        metadata filter costs ~25 ms per query in Chroma, so it is used only when documents
        are filtered.
        """
        self._vectors_up_to_date()
        where = None
        if allowed is not None:
            live = [version_key(doc, version) for doc, version in self.catalogue.live_versions().items()
                    if doc in allowed]
            if not live:
                return []
            where = {"version_key": {"$in": live}}
        try:  # an empty collection answers with no ids (no count() first: a round trip to a server)
            result = self.collection.query(query_embeddings=[list(map(float, embedding))],
                                           n_results=k, where=where, include=["distances"])
        except Exception as exc:
            raise StoreError(f"cannot search the vectors at {vector_store_place(self.settings)}: "
                             f"{exc}") from exc
        # Cosine space: distance = 1 - similarity.
        return [(vector_id, 1.0 - distance) for vector_id, distance in
                zip(result["ids"][0], result["distances"][0], strict=True)]

    def vector_count(self) -> int:
        return self.collection.count()

    def close(self) -> None:
        self.catalogue.close()
