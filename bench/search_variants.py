"""Search settings measured on both benchmarks at once: ObliQA (one half of dev) and our questions.

    python bench/search_variants.py --obliqa-home DIR --ours-home DIR [--half even] [--limit N]
                                    [--variants FILE.json] ["name=value,name=value" ...]

Each variant is a set of settings changed from the data directories' own ("" is the settings in
force). For each it prints ObliQA Recall@10 / MAP@10 on the chosen half of the dev questions
(`bench/obliqa.py --half`) and our questions' recall@5 / MRR@10 (`kb eval bench/questions.jsonl`),
so that a change is kept only when it holds on a rulebook nobody here wrote and on our corpus.
Tune on one half, then report the other with `bench/obliqa.py --half odd --set ...`.
Both data directories are only read. Each question is encoded once for all variants.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.obliqa import DEFAULT_OBLIQA, DEPTH, RememberingEmbedder, changed_settings, load_questions, same_place
from bench.obliqa import score as obliqa_score
from kb.api import load_embedder
from kb.config import load_settings
from kb.evaluate import evaluate, settings_applied
from kb.evaluate import load_questions as load_our_questions
from kb.search import search
from kb.store import Store


def obliqa_figures(store: Store, embedder, questions, changed: dict) -> dict:
    rankings, latencies = [], []
    with settings_applied(store, **changed):
        for question, _ in questions:
            started = time.perf_counter()
            hits = search(store, embedder, question, k=DEPTH).hits
            latencies.append((time.perf_counter() - started) * 1000)
            rankings.append([(hit.passage.doc_id, same_place(hit.passage.locator)) for hit in hits])
    scores = obliqa_score(rankings, [gold for _, gold in questions], latencies)
    return {"obliqa_recall_10": round(scores.recall_at_10, 4), "obliqa_map_10": round(scores.map_at_10, 4),
            "obliqa_p50_ms": scores.latency_p50_ms}


def our_figures(store: Store, embedder, questions, changed: dict) -> dict:
    with settings_applied(store, **changed):
        report = evaluate(store, embedder, questions, diagnose=False)
    return {"ours_recall_5": round(report.recall_at_5, 4), "ours_mrr_10": round(report.mrr_at_10, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obliqa", type=Path, default=DEFAULT_OBLIQA)
    parser.add_argument("--obliqa-home", type=Path, help="a data directory bench/obliqa.py built")
    parser.add_argument("--ours-home", type=Path, help="a data directory with the default corpus")
    parser.add_argument("--questions", type=Path, default=Path("bench/questions.jsonl"))
    parser.add_argument("--half", choices=["even", "odd"], default="even")
    parser.add_argument("--limit", type=int, default=0, help="a fixed random sample of the half")
    parser.add_argument("--present-only", action="store_true", help="only the ObliQA questions whose gold "
                        "documents the data directory holds (a copy taken while it was being built)")
    parser.add_argument("--variants", type=Path, help="a JSON list of {setting: value} objects")
    parser.add_argument("variant", nargs="*", help='"name=value,name=value" ("" = the settings in force)')
    args = parser.parse_args()
    variants = [changed_settings([pair for pair in text.split(",") if pair]) for text in args.variant]
    if args.variants:
        variants += [changed_settings([f"{k}={v}" for k, v in row.items()])
                     for row in json.loads(args.variants.read_text())]
    embedder = RememberingEmbedder(load_embedder())
    if not (args.obliqa_home or args.ours_home):
        sys.exit("give --obliqa-home, --ours-home or both")
    obliqa_store = Store(load_settings(home=args.obliqa_home.resolve())) if args.obliqa_home else None
    our_store = Store(load_settings(home=args.ours_home.resolve())) if args.ours_home else None
    obliqa_questions = load_questions(args.obliqa, 0, args.half)
    if obliqa_store and args.present_only:
        present = {doc["doc_id"] for doc in obliqa_store.catalogue.documents()}
        obliqa_questions = [(q, gold) for q, gold in obliqa_questions if {d for d, _ in gold} <= present]
    if args.limit:
        obliqa_questions = random.Random(18).sample(obliqa_questions, min(args.limit, len(obliqa_questions)))
    our_questions = load_our_questions(args.questions)
    print(f"ObliQA dev, {args.half} half: {len(obliqa_questions)} questions; ours: {len(our_questions)}",
          flush=True)
    for changed in variants or [{}]:
        row = {**(obliqa_figures(obliqa_store, embedder, obliqa_questions, changed) if obliqa_store else {}),
               **(our_figures(our_store, embedder, our_questions, changed) if our_store else {})}
        print(json.dumps({"changed": changed, **row}), flush=True)


if __name__ == "__main__":
    main()
