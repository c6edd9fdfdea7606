"""A deterministic stand-in for the embedding model: feature hashing of words, no weights.

It makes the fast test tier (`make test-fast`, KB_EMBED_BACKEND=hash) run in seconds: each word is
hashed to one of 384 signed buckets, so texts sharing words are near and the same text always
gives the same vector, on every machine. It knows nothing of meaning, so every claim about search
or answer quality is tested with the real model instead.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager, nullcontext

import numpy as np

# Word pieces are approximated by words and single punctuation marks.
_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashModel:
    """Bag-of-words vectors by feature hashing, with the same dimension as all-MiniLM-L6-v2."""

    name = "feature-hashing-384"
    dimension = 384

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Words and punctuation marks of each text."""
        return [len(_TOKEN.findall(text)) for text in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        """The text up to the end of its `max_tokens`-th word or mark."""
        if max_tokens <= 0:
            return ""
        for count, match in enumerate(_TOKEN.finditer(text), start=1):
            if count == max_tokens:
                return text[:match.end()]
        return text

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> list[list[float]]:
        """Unit-length vectors of texts, in order (batch size and progress do not apply)."""
        return [self._vector(text) for text in texts]

    def one_thread(self) -> AbstractContextManager[object]:
        """Hashing runs on one thread anyway."""
        return nullcontext()

    def _vector(self, text: str) -> list[float]:
        vector = np.zeros(self.dimension)
        for word in re.findall(r"\w+", text.lower()):
            digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            vector[digest % self.dimension] += 1.0 if digest >> 63 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0:  # no words: still a unit vector, as the real model gives
            vector[0], norm = 1.0, 1.0
        return (vector / norm).tolist()
