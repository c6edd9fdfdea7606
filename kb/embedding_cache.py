"""Embeddings already computed, keyed by model and the exact encoder input (SQLite under KB_HOME).

A re-ingest, a changed document or a new chunking setting then only embeds the passages whose
encoder input is new: the encoder is nearly all of the cost of an ingest.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np

from kb.errors import StoreError

_SCHEMA = "CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"
_LOOKUP_BATCH = 500  # SQLite parameters per query


def cache_key(model_name: str, text: str) -> bytes:
    """sha256 of the model name and the encoder input."""
    return hashlib.sha256(f"{model_name}\x00{text}".encode()).digest()


class EmbeddingCache:
    """A persistent map (model, encoder input) -> float32 unit vector."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the embedding cache {path} cannot be opened: {exc}; "
                             "deleting it only costs re-embedding") from exc

    def get(self, model_name: str, texts: list[str]) -> dict[str, list[float]]:
        """The cached vectors of those texts that have one."""
        keys = {cache_key(model_name, text): text for text in dict.fromkeys(texts)}
        found: dict[str, list[float]] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start:start + _LOOKUP_BATCH]
            rows = self.db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({','.join('?' * len(batch))})", batch)
            for key, vector in rows:
                found[keys[key]] = np.frombuffer(vector, dtype=np.float32).tolist()
        return found

    def put(self, model_name: str, vectors: dict[str, list[float]]) -> None:
        """Remember vectors of texts (stored as float32, the encoder's own precision)."""
        rows = [(cache_key(model_name, text), np.asarray(vector, dtype=np.float32).tobytes())
                for text, vector in vectors.items()]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()
