"""Encoder backends: torch against ONNX Runtime (fp32, and int8 dynamic quantisation).

    python bench/encoder_backends.py --source-home DIR [--sample 600]

DIR holds the ingested default corpus. The packaged all-MiniLM-L6-v2 is exported to ONNX from
its local folder (no hub), quantised to int8 with onnxruntime, and each backend encodes the same
real encoder inputs (a fixed sample, longest first, batches of 32, one thread each: on a shared
machine two threads mostly measure the neighbours). Quality, for a backend faster than torch:
the whole corpus is re-embedded with it into a temporary store and bench/questions.jsonl is run
through the real search, queries embedded by the same backend.

Writing vectors made by another encoder is below the KnowledgeBase door (kb/api.py), so this
benchmark opens kb.store.Store itself for the temporary store.

Needs `onnx` for the export (measurement only; sentence-transformers' own backend="onnx" wants
optimum, which would pin transformers below the installed 5.x).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.index import recital_links  # noqa: E402
from kb.config import load_settings  # noqa: E402
from kb.embedding import ENCODER_MAX_TOKENS, Embedder  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402
from kb.store import Store  # noqa: E402
from kb.types import Fetched, Source  # noqa: E402

BATCH = 32


def export(embedder: Embedder, folder: Path) -> dict[str, Path]:
    """ONNX fp32 and int8 copies of the encoder's transformer."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Transformer(torch.nn.Module):  # keyword arguments: positional order varies by version
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    transformer = Transformer(embedder.model[0].auto_model).eval()
    sample = embedder.tokenizer(["a sample input"], return_tensors="pt")
    fp32 = folder / "model.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    with torch.no_grad():
        torch.onnx.export(transformer, tuple(sample[name] for name in names), str(fp32),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
                          opset_version=17, dynamo=False)
    int8 = folder / "model-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return {"onnx-fp32": fp32, "onnx-int8": int8}


class OnnxEncoder:
    """Tokenize, run the ONNX transformer, mean-pool and normalise: what the torch pipeline does."""

    def __init__(self, path: Path, tokenizer, threads: int = 1):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer

    def __call__(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            encoded = self.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                     max_length=ENCODER_MAX_TOKENS, return_tensors="np")
            inputs = {name: encoded[name].astype(np.int64) for name in
                      ("input_ids", "attention_mask", "token_type_ids")}
            hidden = self.session.run(None, inputs)[0]
            mask = inputs["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            vectors[batch] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return vectors.tolist()


def corpus_inputs(store: Store, embedder: Embedder):
    """(document row, its passages, their encoder inputs) of every live document."""
    for doc in store.catalogue.documents():
        passages = store.catalogue.passages(doc["doc_id"])
        yield doc, passages, [embedder.embedding_input(p) for p in passages]


def quality(source: Store, embedder: Embedder, encode, questions: Path) -> tuple[float, float]:
    """recall@5 and MRR@10 of the real search over the corpus embedded by `encode`."""
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home))
        store = Store(settings)
        for doc, passages, inputs in corpus_inputs(source, embedder):
            vectors = encode(inputs)
            links = recital_links(passages, vectors, settings.recital_link_min_similarity)
            origin = Source(id=doc["doc_id"], title=doc["title"], canonical_url=doc["canonical_url"],
                            issuer=doc["issuer"] or "", jurisdiction=doc["jurisdiction"] or "",
                            doc_type=doc["doc_type"] or "", date=doc["date"] or "")
            fetched = Fetched.create(b"", url=doc["canonical_url"], final_url=doc["canonical_url"],
                                     content_type="text/plain", origin="file")
            store.replace_document(origin, fetched, doc["version"], doc["parser"], passages,
                                   vectors, embedder.model_name, links)
        store.refresh_keyword_index()
        original = embedder.embed
        embedder.embed = encode  # queries through the same backend
        try:
            report = evaluate(store, embedder, load_questions(questions))
        finally:
            embedder.embed = original
        store.close()
    return report.recall_at_5, report.mrr_at_10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-home", type=Path, required=True)
    parser.add_argument("--sample", type=int, default=300, help="encoder inputs timed per backend")
    parser.add_argument("--questions", type=Path, default=REPO / "bench" / "questions.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = load_settings(home=args.source_home)
    embedder = Embedder(settings)
    source = Store(settings)
    inputs = [text for _, _, texts in corpus_inputs(source, embedder) for text in texts]
    sample = inputs[::max(1, len(inputs) // args.sample)][:args.sample]
    with tempfile.TemporaryDirectory() as folder:
        backends = {"torch": embedder.embed}
        backends.update({name: OnnxEncoder(path, embedder.tokenizer)
                         for name, path in export(embedder, Path(folder)).items()})
        reference = np.asarray(embedder.embed(sample[:100]))
        speed = {}
        for name, encode in backends.items():
            encode(sample[:BATCH])  # warm-up
            started = time.perf_counter()
            encode(sample)
            speed[name] = len(sample) / (time.perf_counter() - started)
            agreement = float((np.asarray(encode(sample[:100])) * reference).sum(axis=1).min())
            print(f"{name:10} {speed[name]:6.1f} inputs/s (1 thread)  min cosine to torch "
                  f"{agreement:.4f}", flush=True)
        for name, encode in backends.items():
            if name != "torch" and speed[name] > speed["torch"]:
                recall, mrr = quality(source, embedder, encode, args.questions)
                print(f"{name:10} recall@5 {recall:.3f}  MRR@10 {mrr:.3f}", flush=True)


if __name__ == "__main__":
    main()
