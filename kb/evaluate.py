"""Retrieval evaluation: recall@1/5/10, MRR@10, the no-match signal and latency on a question set.

A question file has one JSON object per line: {"id", "question", "doc_id", "locators",
"answerable"}. A hit is right when its document matches and its locator equals a gold locator,
lies inside one, or contains one ("Article 5(1)" contains "Article 5(1)(f)").
"""

from __future__ import annotations

import json
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kb.config import save_settings
from kb.embedding import Embedder
from kb.errors import UsageError
from kb.search import SearchFilters, matches_locator, search
from kb.store import Store
from kb.types import Hit, Passage

DEPTH = 10
DIAGNOSIS_DEPTH = 300  # how far down each ranking a missed gold passage is looked for


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    doc_id: str | None
    locators: tuple[str, ...]
    answerable: bool


@dataclass
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    unanswerable_flagged: float  # share of unanswerable questions flagged "no good match"
    answerable_flagged: float  # share of answerable questions wrongly flagged
    latency_p50_ms: float
    latency_p95_ms: float
    longest_hit_chars: int
    misses: list[dict] = field(default_factory=list)


def load_questions(path: Path) -> list[Question]:
    """Read and check a question file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read question file {path}: {exc.strerror}") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            questions.append(Question(id=str(data["id"]), question=data["question"],
                                      doc_id=data.get("doc_id"), locators=tuple(data.get("locators", [])),
                                      answerable=bool(data.get("answerable", True))))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: not a question object ({exc})") from exc
    if not questions:
        raise UsageError(f"{path} holds no questions")
    return questions


def gold_ranks(store: Store, embedder: Embedder, question: Question,
               filters: SearchFilters | None = None) -> dict:
    """Where the first gold passage sits in each ranking before fusion (1-based passage ranks,
    None beyond DIAGNOSIS_DEPTH), with its meaning similarity.

    Tells a fusion problem (gold high in one ranking, lost in the mix) from a vocabulary gap
    (gold low in both: neither the words nor the encoder connect question and passage).
    """
    allowed = filters.allowed(store.catalogue.documents()) if filters and filters.active() else None
    dense = store.dense_search(embedder.embed_query(question.question), DIAGNOSIS_DEPTH, allowed)
    keyword = store.keyword.search(question.question, DIAGNOSIS_DEPTH, allowed)
    passages = store.catalogue.passages_by_vector_id(list({v for v, _ in dense + keyword}))

    def first_gold(ranking: list[tuple[str, float]]) -> tuple[int | None, float | None]:
        for position, (vector_id, score) in enumerate(ranking, start=1):
            if vector_id in passages and is_gold(passages[vector_id], question):
                return position, score
        return None, None

    meaning_rank, similarity = first_gold(dense)
    keyword_rank, _ = first_gold(keyword)
    return {"meaning_rank": meaning_rank, "keyword_rank": keyword_rank,
            "gold_similarity": None if similarity is None else round(similarity, 3)}


def is_right(hit: Hit, question: Question) -> bool:
    """The hit is (inside, or contains) one of the question's gold passages."""
    return is_gold(hit.passage, question)


def is_gold(passage: Passage, question: Question) -> bool:
    """The passage is (inside, or contains) one of the question's gold passages."""
    return passage.doc_id == question.doc_id and any(
        matches_locator(passage.locator, gold) or matches_locator(gold, passage.locator)
        for gold in question.locators)


def evaluate(store: Store, embedder: Embedder, questions: list[Question],
             filters: SearchFilters | None = None, diagnose: bool = True) -> EvalReport:
    """Run every question through search and measure; `diagnose` finds where each missed gold
    passage sits in the rankings before fusion."""
    search(store, embedder, "warm-up query", k=1)  # first-call costs are not search latency
    ranks: list[int | None] = []
    flagged_unanswerable = flagged_answerable = 0
    latencies, misses, longest = [], [], 0
    for question in questions:
        started = time.perf_counter()
        results = search(store, embedder, question.question, k=DEPTH, filters=filters)
        latencies.append((time.perf_counter() - started) * 1000)
        longest = max([longest, *(len(hit.passage.text) for hit in results.hits)])
        if not question.answerable:
            flagged_unanswerable += results.no_good_match
            continue
        flagged_answerable += results.no_good_match
        rank = next((hit.rank for hit in results.hits if is_right(hit, question)), None)
        ranks.append(rank)
        if rank is None or rank > 5:
            first = results.hits[0].passage if results.hits else None
            misses.append({"id": question.id, "question": question.question, "rank": rank,
                           "gold": f"{question.doc_id} {', '.join(question.locators)}",
                           "first": f"{first.doc_id} {first.locator}" if first else None,
                           **(gold_ranks(store, embedder, question, filters) if diagnose else {})})
    answerable = len(ranks) or 1
    unanswerable = len(questions) - len(ranks)
    latencies.sort()
    return EvalReport(
        questions=len(questions), answerable=len(ranks), unanswerable=unanswerable,
        recall_at_1=sum(r is not None and r <= 1 for r in ranks) / answerable,
        recall_at_5=sum(r is not None and r <= 5 for r in ranks) / answerable,
        recall_at_10=sum(r is not None for r in ranks) / answerable,
        mrr_at_10=sum(1 / r for r in ranks if r) / answerable,
        unanswerable_flagged=flagged_unanswerable / (unanswerable or 1),
        answerable_flagged=flagged_answerable / answerable,
        latency_p50_ms=statistics.median(latencies),
        latency_p95_ms=latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        longest_hit_chars=longest, misses=misses)


# Sweep: the fusion weights that suit a data directory's own questions -----------------------------

SWEEP_KEYWORD_WEIGHTS = (0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)  # against a meaning weight of 1
SWEEP_SETTINGS = ("dense_weight", "keyword_weight")


@dataclass
class SweepReport:
    questions: int  # answerable questions measured
    current: dict[str, float]  # the settings in force, with their recall@5 and MRR@10
    best: dict[str, float]  # the best weights found, with theirs
    tried: list[dict[str, float]]

    @property
    def gain(self) -> dict[str, float]:
        return {name: round(self.best[name] - self.current[name], 4) for name in ("recall_at_5", "mrr_at_10")}


class _RememberingEmbedder:
    """The embedder with each query encoded once: a sweep asks the same questions many times."""

    def __init__(self, embedder: Embedder):
        self._embedder = embedder
        self._queries: dict[str, list[float]] = {}

    def embed_query(self, query: str) -> list[float]:
        if query not in self._queries:
            self._queries[query] = self._embedder.embed_query(query)
        return self._queries[query]

    def __getattr__(self, name):
        return getattr(self._embedder, name)


@contextmanager
def settings_applied(store: Store, **values: float):
    """Search with these settings in place of the store's own, for the duration."""
    previous = store.settings
    store.settings = previous.model_copy(update=values)
    try:
        yield
    finally:
        store.settings = previous


def sweep(store: Store, embedder: Embedder, questions: list[Question],
          keyword_weights: tuple[float, ...] = SWEEP_KEYWORD_WEIGHTS,
          filters: SearchFilters | None = None) -> SweepReport:
    """Measure each keyword weight (meaning weight 1) on the questions; best by MRR@10, then
    recall@5. Changes nothing stored."""
    remembering = _RememberingEmbedder(embedder)

    def measure(values: dict[str, float]) -> dict[str, float]:
        with settings_applied(store, **values):
            report = evaluate(store, remembering, questions, filters, diagnose=False)  # type: ignore[arg-type]
        return {**values, "recall_at_5": round(report.recall_at_5, 4), "mrr_at_10": round(report.mrr_at_10, 4)}

    current = measure({name: getattr(store.settings, name) for name in SWEEP_SETTINGS})
    tried = [measure({"dense_weight": 1.0, "keyword_weight": weight}) for weight in keyword_weights]
    best = max([current, *tried], key=lambda row: (row["mrr_at_10"], row["recall_at_5"]))
    return SweepReport(questions=sum(q.answerable for q in questions), current=current, best=best, tried=tried)


def sweep_and_report(store: Store, embedder: Embedder, questions: list[Question],
                     filters: SearchFilters | None = None, as_json: bool = False, write: bool = False) -> str:
    """`kb eval FILE --sweep [--write]`: the sweep as text (or JSON); with `write`, the best
    weights saved in the data directory's settings file when they gain anything."""
    report = sweep(store, embedder, questions, filters=filters)
    best = {name: report.best[name] for name in SWEEP_SETTINGS}
    gains = report.gain
    written = None
    if write and (gains["mrr_at_10"] > 0 or gains["recall_at_5"] > 0):
        written = save_settings(store.settings.home, best)
    if as_json:
        return json.dumps({"current": report.current, "best": report.best, "gain": gains,
                           "tried": report.tried, "written": str(written) if written else None}, indent=2)
    lines = ["keyword weight (meaning 1)   recall@5   MRR@10"]
    for row in [report.current, *report.tried]:
        meaning = f" / meaning {row['dense_weight']:g}" if row["dense_weight"] != 1 else ""
        label = f"{row['keyword_weight']:g}" + meaning
        mark = "  (now)" if row is report.current else ""
        lines.append(f"{label:<28} {row['recall_at_5']:>8.3f} {row['mrr_at_10']:>8.3f}{mark}")
    lines.append(f"best: dense_weight {best['dense_weight']:g}, keyword_weight {best['keyword_weight']:g}; "
                 f"gain recall@5 {gains['recall_at_5']:+.3f}, MRR@10 {gains['mrr_at_10']:+.3f} "
                 f"on these {report.questions} questions")
    if written:
        lines.append(f"written to {written}")
    elif write:
        lines.append("nothing written: no weight does better than the settings in force")
    else:
        lines.append("nothing written (add --write to keep these weights for this data directory)")
    return "\n".join(lines)
