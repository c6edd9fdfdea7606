"""How far can fusion weights alone take retrieval? A sweep of the keyword weight, and its ceiling.

    python bench/fusion_sweep.py [--questions bench/questions.jsonl] [--weights 0,0.3,0.5,0.7,1,1.5,3]

Uses the store in KB_HOME (run `kb ingest` first). For each keyword weight (meaning weight 1) it
runs `kb eval`'s measurement and prints recall@5, MRR@10 and the questions missed at top 5. Then
the ceiling: the questions missed at every weight, which no choice of weight (even one picked per
question by an oracle) can bring into the top 5. Those need a better match between question and
passage, not a better mix of the two rankings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.api import KnowledgeBase, load_embedder
from kb.evaluate import load_questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", default="bench/questions.jsonl")
    parser.add_argument("--weights", default="0,0.3,0.5,0.7,1,1.5,3",
                        help="keyword weights to try, comma-separated")
    args = parser.parse_args()
    questions = load_questions(Path(args.questions))
    answerable = sum(q.answerable for q in questions)
    embedder = load_embedder()
    missed_by_weight = {}
    for weight in (float(w) for w in args.weights.split(",")):
        with KnowledgeBase.open(embedder=embedder, keyword_weight=weight) as kb:
            report = kb.evaluate(questions)
        missed = sorted(miss["id"] for miss in report.misses)
        missed_by_weight[weight] = set(missed)
        print(f"keyword weight {weight:<4}  recall@5 {report.recall_at_5:.3f}  MRR@10 {report.mrr_at_10:.3f}"
              f"  missed: {' '.join(missed)}", flush=True)
    always = sorted(set.intersection(*missed_by_weight.values()))
    print(f"missed at every weight ({len(always)}): {' '.join(always)}")
    print(f"ceiling of any weight choice, even per question: recall@5 {1 - len(always) / answerable:.3f}")


if __name__ == "__main__":
    main()
