"""The store: Chroma vectors (through llama-index) and the SQLite catalogue, kept in step.

Replacing a document: the new version's vectors are added under new ids, the catalogue switches
to the new version in one transaction, then the old vectors are deleted. Searches only accept
vectors of live versions, so they see the old version or the new one, never a mix; a crash at
any point leaves the previous version searchable.
"""

from __future__ import annotations

import logging
import math
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from kb.catalogue import Catalogue
from kb.config import Settings
from kb.errors import StoreError
from kb.keyword import KeywordIndex
from kb.types import Fetched, Passage, Source

log = logging.getLogger(__name__)

# Collection metadata naming the data directory (store-id file) whose catalogue it serves.
_OWNER_KEY = "kb_data_dir"


def open_vector_store(settings: Settings):
    """The llama-index ChromaVectorStore over the configured collection (cosine space): in the
    embedded store under KB_HOME, or on the Chroma server at KB_CHROMA_URL."""
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chroma_client(settings)
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
    return ChromaVectorStore(chroma_collection=collection)


def chroma_client(settings: Settings):
    """chromadb's HttpClient for KB_CHROMA_URL, else its PersistentClient under KB_HOME."""
    import chromadb

    options = chromadb.Settings(anonymized_telemetry=False)
    if not settings.chroma_url:
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=options)
    url = urlsplit(settings.chroma_url)
    https = url.scheme == "https"
    try:
        return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if https else 8000),
                                   ssl=https, settings=options)
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


def passage_nodes(doc_id: str, version: str, metadata: dict[str, str], passages: list[Passage],
                  embeddings: list[list[float]]) -> list:
    """llama-index nodes for the vectors of one document version (id `passage_id@version`)."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    # The SOURCE relationship is how llama-index records the document (its doc_id metadata).
    document = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc_id)}
    return [TextNode(id_=f"{p.passage_id}@{version}", text=p.text, embedding=vector,
                     relationships=document,
                     metadata={"version_key": version_key(doc_id, version), **metadata})
            for p, vector in zip(passages, embeddings, strict=True)]


class Store:
    """Catalogue plus vectors; the only code that writes either."""

    def __init__(self, settings: Settings):
        settings.home.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.catalogue = Catalogue(settings.catalogue_path)
        self.vectors = open_vector_store(settings)
        self.keyword = KeywordIndex(settings.home / "keyword")
        self._write_lock = FileLock(str(settings.home / "write.lock"))

    @contextmanager
    def writing(self):
        """Hold the data directory's write lock; a second writer gets a clear error at once."""
        try:
            self._write_lock.acquire(timeout=0)
        except Timeout as exc:
            raise StoreError(
                f"another kb command is changing {self.settings.home}; wait for it to finish") from exc
        try:
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
        """For readers: rebuild a missing or stale keyword index unless a writer is at work
        (it rebuilds when it finishes)."""
        if self.keyword.built_generation() == self.catalogue.generation():
            return
        try:
            self._write_lock.acquire(timeout=0)
        except Timeout:
            if self.keyword.built_generation() is None:
                raise StoreError("the keyword index is being built by a running kb command; "
                                 "try again in a moment") from None
            return
        try:
            self.refresh_keyword_index()
        finally:
            self._write_lock.release()

    @property
    def collection(self):
        return self.vectors.client

    def replace_document(self, source: Source, fetched: Fetched, version: str, parser: str,
                         passages: list[Passage], embeddings: list[list[float]],
                         embed_model: str, links: dict[str, str] | None = None) -> None:
        """Make `version` of a document live, with its passages and their embeddings."""
        key = version_key(source.id, version)
        nodes = passage_nodes(source.id, version, {"jurisdiction": source.jurisdiction,
                              "issuer": source.issuer, "doc_type": source.doc_type,
                              "date": source.date}, passages, embeddings)
        try:
            self.collection.delete(where={"version_key": key})  # leftovers of a crashed attempt
            self.vectors.add(nodes)
        except Exception as exc:
            self._delete_where({"version_key": key})
            raise StoreError(f"could not store the passages of '{source.id}': {exc}; "
                             "its previous version is unchanged") from exc
        self.catalogue.switch_version(source, fetched, version, parser, passages, embed_model,
                                      links or {})
        self.delete_stale_vectors()  # the old version's, and any an interrupted command left

    def remove_document(self, doc_id: str) -> None:
        """Remove a document from the catalogue, then its vectors."""
        self.catalogue.remove_document(doc_id)
        self._delete_where({"doc_id": doc_id})

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

    def _delete_where(self, where: dict) -> None:
        try:
            self.collection.delete(where=where)
        except Exception as exc:  # unreachable vectors are invisible to search; doctor cleans them
            log.warning("could not delete stale vectors (%s): %s", where, exc)

    def dense_search(self, embedding: list[float], k: int,
                     allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(vector id, cosine similarity) of the k nearest passages (of `allowed` documents).

        Ids of versions that are not live may come back; the catalogue lookup drops them. A
        metadata filter costs ~25 ms per query in Chroma, so it is used only when documents
        are filtered.
        """
        from llama_index.core.vector_stores.types import (
            FilterOperator, MetadataFilter, MetadataFilters, VectorStoreQuery)

        filters = None
        if allowed is not None:
            live = [version_key(doc, version) for doc, version in self.catalogue.live_versions().items()
                    if doc in allowed]
            if not live:
                return []
            filters = MetadataFilters(filters=[
                MetadataFilter(key="version_key", value=live, operator=FilterOperator.IN)])
        try:  # an empty collection answers with no ids (no count() first: a round trip to a server)
            result = self.vectors.query(VectorStoreQuery(query_embedding=embedding,
                                                         similarity_top_k=k, filters=filters))
        except Exception as exc:
            raise StoreError(f"cannot search the vectors at {vector_store_place(self.settings)}: "
                             f"{exc}") from exc
        # ChromaVectorStore reports exp(-distance); cosine distance is 1 - similarity.
        return [(node_id, 1.0 + math.log(score)) for node_id, score in
                zip(result.ids or [], result.similarities or [])]

    def vector_count(self) -> int:
        return self.collection.count()

    def close(self) -> None:
        self.catalogue.close()
