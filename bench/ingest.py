"""Ingest speed: passages/s, and ingest time divided by raw encoder time on the same texts.

    python bench/ingest.py [--mirror ../shared/corpus] [--runs 3] [--home DIR]

Each run ingests the mirror into a fresh temporary data directory with the model already loaded
(model loading is reported separately), then encodes the very same texts with
sentence-transformers alone (each passage's encoder input, and each distinct clause that ingest
embeds for answers), then re-ingests everything with --force: every embedding then
comes from the cache, so that time is all the work of an ingest that is not the encoder. Also
timed: tokenising the encoder inputs once (what chunking and encoding each pay).
Prints the median of the runs, the peak memory of the process and the machine it ran on.
With --home DIR (an empty or new folder) the first run ingests there and the store is kept, so
one run on a quiet machine gives both the figures and a data directory to search.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.api import KnowledgeBase, load_embedder
from kb.sentences import clause_texts

DEFAULT_MIRROR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def one_run(mirror: Path, embedder, keep: Path | None = None) -> tuple[float, float, int, float, float, float, int]:
    """(ingest s, raw encoder s, passages, forced re-ingest s, tokenising s, of which clauses s,
    clauses) for one fresh ingest, into `keep` when given, else into a temporary folder."""
    with tempfile.TemporaryDirectory() as scratch:
        return _timed_run(mirror, embedder, keep or Path(scratch))


def _timed_run(mirror: Path, embedder, home: Path) -> tuple[float, float, int, float, float, float, int]:
    with KnowledgeBase.open(home, embedder=embedder, mirror=mirror) as kb:
        started = time.perf_counter()
        report = kb.ingest()
        ingest_seconds = time.perf_counter() - started
        if report.failed:
            sys.exit(f"ingest failed: {[r for r in report.results if r.status == 'failed']}")
        passages = [p for doc in kb.documents() for p in kb.passages(doc.doc_id)]
        inputs = [embedder.embedding_input(p) for p in passages]
        known = set(inputs)
        clauses = [text for text in dict.fromkeys(clause_texts(passages)) if text not in known]
        started = time.perf_counter()
        embedder.model.encode(inputs, batch_size=embedder.batch_size, normalize_embeddings=True)
        middle = time.perf_counter()
        embedder.model.encode(clauses, batch_size=embedder.batch_size, normalize_embeddings=True)
        raw_seconds = time.perf_counter() - started
        clause_seconds = time.perf_counter() - middle
        started = time.perf_counter()
        embedder.tokenizer(inputs, truncation=True, max_length=256)
        tokenize_seconds = time.perf_counter() - started
        started = time.perf_counter()
        kb.ingest(force=True)
        cached_seconds = time.perf_counter() - started
    return ingest_seconds, raw_seconds, len(inputs), cached_seconds, tokenize_seconds, clause_seconds, len(clauses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path, help="ingest the first run here and keep it (must be empty or new)")
    args = parser.parse_args()
    if args.home is not None and args.home.exists() and any(args.home.iterdir()):
        parser.error(f"--home {args.home} is not empty: the first ingest must start from nothing")
    started = time.perf_counter()
    embedder = load_embedder(home=Path(tempfile.gettempdir()) / "kb-bench-unused")
    load_seconds = time.perf_counter() - started
    runs = [one_run(args.mirror, embedder, args.home if i == 0 else None) for i in range(args.runs)]
    ingest_s = statistics.median(r[0] for r in runs)
    raw_s = statistics.median(r[1] for r in runs)
    passages = runs[0][2]
    cached_s = statistics.median(r[3] for r in runs)
    tokenize_s = statistics.median(r[4] for r in runs)
    clause_s = statistics.median(r[5] for r in runs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"mirror: {args.mirror}  runs: {args.runs}  (median)")
    print(f"model load:             {load_seconds:.1f} s (once per process, not in the figures below)")
    print(f"passages:               {passages}")
    print(f"ingest time:            {ingest_s:.1f} s  ({passages / ingest_s:.1f} passages/s)")
    print(f"raw encoder time:       {raw_s:.1f} s  (passages {raw_s - clause_s:.1f} s, "
          f"{runs[0][6]} clauses for answers {clause_s:.1f} s)")
    print(f"ingest / encoder ratio: {ingest_s / raw_s:.2f}  (goal <= 1.1)")
    print(f"re-ingest, all cached:  {cached_s:.1f} s  (everything but the encoder)")
    print(f"tokenising the inputs:  {tokenize_s:.2f} s  ({tokenize_s / raw_s:.1%} of the encoder time)")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS):      {peak_mib:,.0f} MiB")
    if args.home is not None:
        print(f"store kept:             {args.home}")


if __name__ == "__main__":
    main()
