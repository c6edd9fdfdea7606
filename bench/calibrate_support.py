"""Calibrate the citation check (KB_SUPPORT_OVERLAP, KB_SUPPORT_SIMILARITY) on bench/questions.jsonl.

    python bench/calibrate_support.py [--questions FILE]

For every answerable question, the five retrieved passages are prepared as the answer step does.
From each passage's clause nearest the question we build an answer-like sentence: the question's
own words, then about two thirds of the clause (a model restates the question and shortens the
source). Paired with its own passage it should be kept (a supported claim); paired with another
of the retrieved passages, on the same topic, it should be dropped (a wrong citation, the error a
small model makes most). Prints, for a grid of thresholds, the share of supported claims kept and
of wrong citations rejected, and the pair that rejects >= 95 % of wrong citations while keeping
the most supported ones.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.api import KnowledgeBase
from kb.evaluate import load_questions
from kb.sentences import content_words, overlap
from kb.verify import prepare_evidence

HERE = Path(__file__).resolve().parent


def answer_like(question: str, clause: str, rng: random.Random) -> str:
    words = clause.split()
    keep = sorted(rng.sample(range(len(words)), min(len(words), max(3, (2 * len(words)) // 3))))
    return f"{question.rstrip('?')}: {' '.join(words[i] for i in keep)}"


def pairs(kb: KnowledgeBase, questions) -> tuple[list, list]:
    """(overlap, similarity) of supported claims and of wrong citations."""
    rng = random.Random(0)
    supported, wrong = [], []
    embedder = kb.embedder
    for question in questions:
        if not question.answerable:
            continue
        hits = kb.search(question.question, k=5).hits
        evidence, (question_vector,) = prepare_evidence(hits, embedder, [question.question])
        evidence = [item for item in evidence if item.clauses]
        claims = []
        for item in evidence:
            clause = item.clause(int((item.vectors @ question_vector).argmax()))
            claims.append(answer_like(question.question, clause, rng))
        vectors = np.asarray(embedder.embed(claims), dtype=np.float32)
        for i, (claim, vector) in enumerate(zip(claims, vectors, strict=True)):
            words = content_words(claim)
            for j, item in enumerate(evidence):
                measure = (overlap(words, item.words), float((item.vectors @ vector).max()))
                (supported if i == j else wrong).append(measure)
    return supported, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=HERE / "questions.jsonl")
    args = parser.parse_args()
    kb = KnowledgeBase.open()
    settings = kb.settings
    supported, wrong = pairs(kb, load_questions(args.questions))
    supported, wrong = np.array(supported), np.array(wrong)
    print(f"{len(supported)} supported claims, {len(wrong)} wrong citations")
    print("overlap  similarity  supported kept  wrong rejected")
    best = None
    for min_overlap in (0.3, 0.4, 0.5, 0.6, 0.7):
        for min_similarity in (0.3, 0.4, 0.5, 0.6, 0.7):
            kept = np.mean((supported[:, 0] >= min_overlap) & (supported[:, 1] >= min_similarity))
            rejected = 1 - np.mean((wrong[:, 0] >= min_overlap) & (wrong[:, 1] >= min_similarity))
            print(f"  {min_overlap:.1f}      {min_similarity:.1f}        {kept:6.1%}        {rejected:6.1%}")
            if rejected >= 0.95 and (best is None or kept > best[2]):
                best = (min_overlap, min_similarity, kept, rejected)
    if best:
        print(f"\nchosen: KB_SUPPORT_OVERLAP={best[0]} KB_SUPPORT_SIMILARITY={best[1]} "
              f"(keeps {best[2]:.1%} of supported claims, rejects {best[3]:.1%} of wrong citations); "
              f"current settings: {settings.support_overlap} / {settings.support_similarity}")


if __name__ == "__main__":
    main()
