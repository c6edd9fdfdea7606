"""Keyword retrieval: BM25 (bm25s, English stop words, Snowball stemming) over live passages.

The index is derived from the catalogue, the source of truth: each passage is indexed with its
document title, heading path and lead-in, so "GDPR consent" finds Article 7 of the GDPR. It is
rebuilt after every command that changes the catalogue and saved under the catalogue generation
it reflects; a pointer file switched with os.replace names the live build, so a reader never
loads a half-written index. Hits of replaced versions are dropped by the catalogue lookup.

While another process is still writing (an ingest switches documents one by one and saves the
index once, at the end), a reader whose saved build is behind the catalogue indexes the live
passages in memory instead: the saved build's hits of a document switched since would all be
dropped, and the document would vanish from keyword search until the writer finishes.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from kb.catalogue import Catalogue

_POINTER = "current.json"
# Bump when tokenisation changes: a saved index of another format is rebuilt.
FORMAT = 2
# Words of two or more characters, and dotted numbers kept whole: "GOVERN 1.1", "MEASURE 2.11"
# and "Section 3.1" name places in standards and frameworks.
_TOKEN_PATTERN = r"(?u)\b\d+(?:\.\d+)+\b|\b\w\w+\b"
_lock = threading.Lock()


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str], as_ids: bool = False):
    """Lower-cased, stop-word-free, stemmed word lists; `as_ids` gives bm25s's compact form
    (ids and one vocabulary) for indexing: the same index, 20 % faster and smaller in memory."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=as_ids,
                          token_pattern=_TOKEN_PATTERN, show_progress=False)


class KeywordIndex:
    """A saved BM25 index over the catalogue's live passages."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._loaded: tuple[int, object, list[str]] | None = None  # (generation, bm25, vector ids)
        self._positions: tuple[list[str], dict[str, int]] | None = None  # (those ids, id -> position)

    def built_generation(self) -> int | None:
        """The catalogue generation of the saved build, or None when there is none."""
        try:
            pointer = json.loads((self.folder / _POINTER).read_text())
        except (OSError, ValueError):
            return None
        return pointer.get("generation") if pointer.get("format") == FORMAT else None

    def rebuild(self, catalogue: Catalogue) -> None:
        """Index every live passage, save it, and make it the live build."""
        generation, retriever, vector_ids = _index(catalogue)
        build = self.folder / f"build-{generation}-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir(parents=True)
        if retriever is not None:
            retriever.save(str(build), show_progress=False)
        (build / "ids.json").write_text(json.dumps(vector_ids))
        pointer = self.folder / f".{_POINTER}.tmp{os.getpid()}"
        pointer.write_text(json.dumps({"generation": generation, "build": build.name, "format": FORMAT}))
        os.replace(pointer, self.folder / _POINTER)
        self._remove_old_builds(keep=build.name)

    def index_in_memory(self, catalogue: Catalogue) -> None:
        """Index the live passages for this process only, leaving the saved build to the writer;
        searches use it until a saved build as new as it appears."""
        built = _index(catalogue)
        with _lock:
            self._loaded = built

    def generation(self) -> int | None:
        """The catalogue generation that searches see: the saved build's, or that of a newer one
        loaded or indexed in memory."""
        known = [self.built_generation(), self._loaded[0] if self._loaded else None]
        return max((generation for generation in known if generation is not None), default=None)

    def _remove_old_builds(self, keep: str) -> None:
        for old in self.folder.glob("build-*"):
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self):
        """The live build, loaded once per generation (unless what is loaded is newer)."""
        import bm25s

        for attempt in range(3):
            try:
                pointer = json.loads((self.folder / _POINTER).read_text())
            except OSError:
                if self._loaded:  # indexed in memory before any build was saved
                    return self._loaded
                raise
            if self._loaded and self._loaded[0] >= pointer["generation"]:
                return self._loaded
            build = self.folder / pointer["build"]
            try:
                vector_ids = json.loads((build / "ids.json").read_text())
                retriever = bm25s.BM25.load(str(build), show_progress=False) if vector_ids else None
            except OSError:
                # A writer switched to a newer build and removed this one while we read it.
                if attempt == 2 or json.loads((self.folder / _POINTER).read_text()) == pointer:
                    raise
                continue
            self._loaded = (pointer["generation"], retriever, vector_ids)
            return self._loaded

    def saved_ids(self) -> list[str]:
        """Vector ids of the live build, loaded afresh from disk; raises when its files are damaged."""
        with _lock:
            self._loaded = None
            return self._load()[2]

    def passages_with(self, words: list[str]) -> dict[str, list[str]]:
        """For each word that has stems (a stop word has none): the vector ids of the live passages
        that contain one of them."""
        with _lock:
            _, retriever, vector_ids = self._load()
        found: dict[str, list[str]] = {}
        for word, stems in zip(words, tokenize(words), strict=False):
            if not stems:
                continue
            known = [stem for stem in stems if retriever is not None and stem in retriever.vocab_dict]
            # Every stem of the vocabulary scores above 0 in each passage holding it (BM25's idf is positive).
            found[word] = [vector_ids[i] for i in np.flatnonzero(retriever.get_scores(known))] if known else []
        return found

    def scores(self, query: str, vector_ids: list[str]) -> dict[str, float]:
        """BM25 score of each of `vector_ids` for the query (0 for ids not in the live build)."""
        with _lock:
            _, retriever, all_ids = self._load()
        if retriever is None or not vector_ids:
            return dict.fromkeys(vector_ids, 0.0)
        if self._positions is None or self._positions[0] is not all_ids:
            self._positions = (all_ids, {vector_id: i for i, vector_id in enumerate(all_ids)})
        positions = self._positions[1]
        tokens = [token for token in tokenize([query])[0] if token in retriever.vocab_dict]
        if not tokens:
            return dict.fromkeys(vector_ids, 0.0)
        every = retriever.get_scores(tokens)
        return {vector_id: float(every[positions[vector_id]]) if vector_id in positions else 0.0
                for vector_id in vector_ids}

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(vector id, BM25 score) of the best k passages; `allowed` limits the documents."""
        with _lock:
            _, retriever, vector_ids = self._load()
        if retriever is None:
            return []
        query_tokens = tokenize([query])
        vocabulary = retriever.vocab_dict
        if not any(token in vocabulary for token in query_tokens[0]):
            return []
        mask = None
        if allowed is not None:
            mask = np.fromiter((vid.split(":", 1)[0] in allowed for vid in vector_ids), dtype=np.float32)
        k = min(k, len(vector_ids))
        documents, scores = retriever.retrieve(query_tokens, k=k, show_progress=False,
                                               weight_mask=mask)
        return [(vector_ids[i], float(s)) for i, s in zip(documents[0], scores[0], strict=False) if s > 0]


def _index(catalogue: Catalogue) -> tuple[int, Any, list[str]]:
    """(generation, BM25 index or None when there are no passages, vector ids) of the live passages.

    The generation is read first: if a writer switches a document meanwhile, the index is newer
    than it says, and is merely built again."""
    import bm25s

    generation = catalogue.generation()
    vector_ids, texts = catalogue.keyword_documents()
    if not texts:
        return generation, None, vector_ids
    retriever = bm25s.BM25()
    retriever.index(tokenize(texts, as_ids=True), show_progress=False)
    return generation, retriever, vector_ids
