"""Probe: does fine-tuning the encoder on pairs taken from the documents' own structure help?

    python bench/finetune_probe.py [--pairs 800] [--batch 16] [--max-length 128] [--out DIR]

Not part of the product yet: a measurement for deciding whether ingest should adapt the encoder
to the corpus. Uses the store in KB_HOME (run `kb ingest` first). Training pairs come only from
the documents, never from the questions:
- heading title -> passage under it ("Right to data portability" -> Article 20(1)),
- recital -> the provision it was linked to at ingest.
One pass of in-batch-negatives contrastive training (no two pairs of one heading or provision in a
batch), then dense-only recall@5 and MRR@10 on bench/questions.jsonl, before and after, with the
same one-hit-per-place rule as `kb eval`. Prints the figures and the time per batch; saves the
tuned model to --out, so `KB_EMBED_MODEL=DIR kb ingest` can measure the whole pipeline with it.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import numpy as np
import torch

from kb.api import KnowledgeBase
from kb.embedding import packaged_model_path
from kb.evaluate import is_gold, load_questions
from kb.types import Passage

_LOCATOR = re.compile(r"^(Article|Recital|Annex|Chapter|Section|Part|Title)\s+[\dIVXLC]+[a-z]?\b\.?\s*", re.I)


def structure_pairs(kb: KnowledgeBase, passages: list[Passage]) -> list[tuple[str, str, tuple]]:
    """(query-like text, passage text, group): a group never appears twice in one batch."""
    def body(p: Passage) -> str:
        return f"{p.context}\n{p.text}" if p.context else p.text

    pairs = []
    for p in passages:
        if p.heading_path:
            title = _LOCATOR.sub("", p.heading_path[-1]).strip()
            if len(title) > 8 and re.search(r"[A-Za-z]{3}", title):
                pairs.append((title, body(p), ("heading", p.doc_id, p.heading_path[-1])))
    for recital, provision in kb.recital_explanations():
        pairs.append((recital.text[:1000], body(provision), ("recital", provision.passage_id)))
    return pairs


def batches(pairs: list, size: int) -> list[list]:
    batches, pending = [], list(pairs)
    while pending:
        batch, groups, rest = [], set(), []
        for pair in pending:
            if pair[2] in groups or len(batch) >= size:
                rest.append(pair)
            else:
                batch.append(pair)
                groups.add(pair[2])
        batches.append(batch)
        pending = rest
    return batches


def dense_figures(model, passages: list[Passage], inputs: list[str], questions) -> tuple[float, float]:
    documents = model.encode(inputs, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    queries = model.encode([q.question for q in questions], normalize_embeddings=True, convert_to_numpy=True)
    found5 = reciprocal = 0.0
    for question, similarities in zip(questions, queries @ documents.T, strict=True):
        seen, rank = set(), 0
        for i in np.argsort(-similarities):
            place = (passages[i].doc_id, passages[i].locator)
            if place in seen:
                continue
            seen.add(place)
            rank += 1
            if is_gold(passages[i], question):
                found5 += rank <= 5
                reciprocal += 1 / rank
                break
            if rank == 10:
                break
    return found5 / len(questions), reciprocal / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=800, help="train on this many pairs (0: all)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128,
                        help="word pieces per text, in training and in both measurements")
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--questions", default="bench/questions.jsonl")
    parser.add_argument("--out", default="finetuned-encoder")
    args = parser.parse_args()
    random.seed(0)
    torch.manual_seed(0)

    from sentence_transformers import SentenceTransformer

    kb = KnowledgeBase.open()
    passages = [p for doc in kb.documents() for p in kb.passages(doc.doc_id)]
    inputs = [kb.embedder.embedding_input(p) for p in passages]
    questions = [q for q in load_questions(Path(args.questions)) if q.answerable]
    pairs = structure_pairs(kb, passages)
    random.shuffle(pairs)
    pairs = pairs[:args.pairs] if args.pairs else pairs
    print(f"{len(passages)} passages, {len(pairs)} training pairs, {len(questions)} questions")

    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    model.max_seq_length = args.max_length  # before and after are compared at the same length
    recall, mrr = dense_figures(model, passages, inputs, questions)
    print(f"before: dense recall@5 {recall:.3f}  MRR@10 {mrr:.3f}")

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)

    def encode(texts: list[str]):
        return torch.nn.functional.normalize(model(model.tokenize(texts))["sentence_embedding"], dim=-1)

    model.train()
    started = time.perf_counter()
    planned = batches(pairs, args.batch)
    for number, batch in enumerate(planned, start=1):
        logits = encode([p[0] for p in batch]) @ encode([p[1] for p in batch]).T * 20
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if number % 10 == 0 or number == len(planned):
            print(f"  batch {number}/{len(planned)}  loss {loss.item():.3f}  "
                  f"{(time.perf_counter() - started) / number:.1f} s per batch", flush=True)
    model.eval()
    with torch.no_grad():
        recall, mrr = dense_figures(model, passages, inputs, questions)
    print(f"after:  dense recall@5 {recall:.3f}  MRR@10 {mrr:.3f}  "
          f"(training {time.perf_counter() - started:.0f} s)")
    model.save(args.out)
    print(f"tuned model saved to {args.out}: KB_EMBED_MODEL={args.out} kb ingest ... measures the whole pipeline")


if __name__ == "__main__":
    main()
