"""A process's view of a data directory's local Chroma, kept as new as the catalogue.

A local Chroma (chromadb's PersistentClient) loads its HNSW index once per process and never
sees vectors that another process adds afterwards: it catches up only when it writes itself
(it applies every pending write before its own). And chromadb hands every client of a path in
one process the same System, so a new client would not help either.

A view is one client on a System of its own, stamped with the catalogue generation it holds the
vectors of. The stores of one process share it, and so see each other's writes; a store that
finds the catalogue at another generation than its view (another process switched documents:
`kb ingest` in a terminal while the app is open) gets a fresh view. Every version the catalogue
makes live had its vectors written before the switch, so a view opened after reading generation
G holds the vectors of every version live at G.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(eq=False)
class VectorView:
    """A PersistentClient, and the catalogue generation whose live vectors it holds."""

    path: str
    client: Any  # chromadb's ClientAPI
    generation: int

    def current(self, generation: int) -> bool:
        """Whether this view holds the vectors of the catalogue at `generation`, and is still the one
        the process shares (no store of it has opened a fresher one)."""
        return self.generation == generation and _VIEWS.get(self.path) is self

    def wrote(self, generation: int) -> None:
        """After a write through this view: chromadb applied every process's pending writes before
        this one, so the view holds what the catalogue shows now (the writer holds the write lock,
        so nobody else changed it meanwhile)."""
        self.generation = generation


_VIEWS: dict[str, VectorView] = {}  # by path: the view the stores of this process share
_LOCK = threading.Lock()


def local_view(path: Path, generation: Callable[[], int]) -> VectorView:
    """The process's view of the local Chroma at `path`, fresh if the catalogue (its generation
    read by `generation`) has moved past the shared one."""
    key = str(path)
    with _LOCK:
        view = _VIEWS.get(key)
        now = generation()  # read before opening: what is opened holds at least this
        if view is None or view.generation != now:
            path.mkdir(parents=True, exist_ok=True)
            view = _VIEWS[key] = VectorView(key, _fresh_client(key), now)
        return view


def _fresh_client(path: str):
    """A PersistentClient on a new chromadb System, which loads the vectors from disk.

    chromadb has no public way to ask for one: the process's shared System of the path is
    forgotten first. Clients already open keep theirs (it is not stopped: a store of this process
    may still be searching with it; it is freed once none refers to it).
    """
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(path, None)
    return chromadb.PersistentClient(path=path, settings=chromadb.Settings(anonymized_telemetry=False))
