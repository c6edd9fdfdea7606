"""ObliQA: retrieval on 40 financial regulations (ADGM) that nobody here wrote, with its own questions.

    python bench/obliqa.py [--obliqa ../shared/obliqa] [--home DIR] [--reuse] [--limit N] [--json]
                           [--half even|odd] [--set NAME=VALUE ...]
                           [--base DATA_DIR] [--embeddings-from EARLIER_HOME]

1. Each of the benchmark's 40 documents (a list of numbered passages) becomes the Markdown file a
   user would add: one heading per clause number ("## 18.8.2"), so that its locators read "18.8.2".
   The files are written to a work folder beside the data directory, never into the repository.
2. They are added to a fresh data directory through the product's own add path (`kb add`), timed,
   and the raw encoder time on a sample of the same texts is measured for the ratio.
3. Every development question goes through search in this one process. A hit is right when its
   document and locator are a gold passage's DocumentID and PassageID. Printed side by side for
   the product's search, the same without its keyword re-ranking and clause preference ("fused
   only"), BM25 alone and meaning (dense) alone, on the same index: Recall@10 and
   MAP@10 exactly as pytrec_eval (trec_eval's recall_10, map_cut_10) computes them, recall@1/5
   (share of questions with a gold passage in the top 1/5), MRR@10, and search p50/p95.

Ingesting the 13,732 passages takes many minutes on 2 cores: `--home DIR --reuse` keeps and reuses
the data directory (a directory is reused only when its ingest finished). `--base` adds the 40
documents to a copy of another data directory instead (the default corpus: one data directory
holding both, as a compliance officer's would), and `--embeddings-from` reuses an earlier run's
embeddings for that.

Tuning: `--half even` keeps the questions at even positions of the dev file (0, 2, 4, ...), `--half
odd` the others; tune on one half and report the other, so that no reported figure was tuned on
its own questions. `--set rerank_candidates=50` measures search with a setting changed (several
`--set` allowed; "fused only" keeps its own overrides on top), without writing to the data directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.api import KnowledgeBase, load_embedder
from kb.config import Settings, load_settings
from kb.embedding import Embedder
from kb.embedding_cache import EmbeddingCache
from kb.evaluate import settings_applied
from kb.search import search
from kb.store import Store
from kb.verify import clause_texts

DEFAULT_OBLIQA = Path(__file__).resolve().parent.parent.parent / "shared" / "obliqa"
DEFAULT_HOME = Path(tempfile.gettempdir()) / "policy-kb-obliqa"
DEPTH = 10
RANKING_DEPTH = 50  # candidates read from each ranking alone, before one hit per place is kept
ENCODER_SAMPLE = 0.05  # share of the ingested texts encoded again to time the raw encoder
MARKER = "obliqa-bench.txt"  # a data directory this benchmark made, and may rebuild
DONE_FILE = "obliqa-ingest.json"  # written once the ingest finished: its figures, for --reuse
# Search as it was before keyword re-ranking and the clause preference: what those add.
FUSED_ONLY = {"rerank_weight": 0.0, "rerank_length_weight": 0.0, "clause_citation_weight": 1.0}
ISSUER = "Financial Services Regulatory Authority (FSRA), Abu Dhabi Global Market (ADGM)"
_MARKDOWN_LINE_START = re.compile(r"^(\s*)([#<>]|[-=_*+]+\s*$)")


def doc_id_of(number: int) -> str:
    return f"obliqa-{number}"


def same_place(text: str) -> str:
    """A clause number as the Markdown reader leaves it: invisible marks dropped, spaces squeezed."""
    return " ".join(text.replace("\u200e", "").split())


# Documents to files -----------------------------------------------------------------------------

def escape_line(line: str) -> str:
    """A line of passage text that Markdown must not read as a heading, rule or HTML."""
    return _MARKDOWN_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)


def escape_heading(text: str) -> str:
    """A clause number as literal heading text ("1.1.1.(1)", "APP_1")."""
    return re.sub(r"([\\`*_\[\]<>#!|~])", r"\\\1", same_place(text))


def markdown_file(passages: list[dict]) -> str:
    """One document as Markdown: each passage under a level-2 heading that is its clause number.

    Every clause is a heading of the same level, so that each benchmark passage stays one place
    (a clause's sub-clauses are their own passages in the benchmark, not part of it).
    """
    parts = []
    for passage in passages:
        parts.append(f"## {escape_heading(passage['PassageID'])}\n")
        text = "\n".join(escape_line(line) for line in passage["Passage"].split("\n")).strip()
        if text:
            parts.append(text + "\n")
    return "\n".join(parts)


def write_files(obliqa: Path, folder: Path) -> list[tuple[int, Path, str]]:
    """(document number, Markdown file, title) for each benchmark document."""
    titles = json.loads((obliqa / "titles.json").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number in range(1, 41):
        passages = json.loads((obliqa / "documents" / f"{number}.json").read_text(encoding="utf-8"))
        path = folder / f"adgm-{number}.md"
        path.write_text(markdown_file(passages), encoding="utf-8")
        title = titles[str(number)].replace("\\'92", "’").replace("\\'93", "“").replace("\\'94", "”")
        files.append((number, path, title))
    return files


# Ingest -----------------------------------------------------------------------------------------

def add_file(kb: KnowledgeBase, path: Path, title: str, doc_id: str) -> int:
    """Add one file the way `kb add FILE --title ... --id ...` does (KnowledgeBase.add, which
    takes the write lock itself); its passage count."""
    result = kb.add(str(path), title=title, doc_id=doc_id, issuer=ISSUER, jurisdiction="AE-ADGM",
                    parser="markdown")
    if result.status == "failed":
        sys.exit(f"adding {path} failed: {result.message}")
    return result.passages


def fresh_home(home: Path, base: Path | None, embeddings_from: Path | None) -> None:
    """An empty data directory (or a copy of `base`), with the embeddings already computed in
    `embeddings_from` (an earlier run's data directory) in its embedding cache."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            sys.exit(f"{home} is not a data directory this benchmark made; choose another --home")
        shutil.rmtree(home)
    if base is not None:
        shutil.copytree(base, home, ignore=shutil.ignore_patterns("write.lock", "READY"))
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("made by bench/obliqa.py; removed and rebuilt by it\n")
    if embeddings_from is not None:
        settings = load_settings(home=home)
        EmbeddingCache(settings.embedding_cache_path).close()  # creates the table when new
        db = sqlite3.connect(settings.embedding_cache_path)
        db.execute("ATTACH DATABASE ? AS earlier", (str(load_settings(home=embeddings_from).embedding_cache_path),))
        db.execute("INSERT OR IGNORE INTO embeddings SELECT key, vector FROM earlier.embeddings")
        db.commit()
        db.close()


def ingest(obliqa: Path, home: Path, embedder: Embedder, base: Path | None = None,
           embeddings_from: Path | None = None) -> dict:
    """Add the 40 documents to a fresh data directory (or a copy of `base`); the ingest figures."""
    fresh_home(home, base, embeddings_from)
    files = write_files(obliqa, home.parent / f"{home.name}-files")
    with KnowledgeBase.open(home, embedder=embedder) as kb:
        started = time.perf_counter()
        passages = 0
        for number, path, title in files:
            passages += add_file(kb, path, title, doc_id_of(number))
            print(f"  added {doc_id_of(number)}: {passages} passages so far, "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        ingest_seconds = time.perf_counter() - started
        encoder_seconds = encoder_time(kb, embedder)
    figures = {"documents": len(files), "passages": passages, "base": str(base or ""),
               "cached_embeddings_from": str(embeddings_from or ""), "ingest_seconds": round(ingest_seconds, 1),
               "encoder_seconds_estimated": round(encoder_seconds, 1),
               "ingest_to_encoder": round(ingest_seconds / encoder_seconds, 2),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    (home / DONE_FILE).write_text(json.dumps(figures, indent=1))
    return figures


def encoder_time(kb: KnowledgeBase, embedder: Embedder) -> float:
    """Seconds the encoder alone would take for everything ingest embedded (passage inputs and
    answer clauses), estimated from a fixed random sample of those texts."""
    passages = [p for doc in kb.documents() for p in kb.passages(doc.doc_id)]
    inputs = [embedder.embedding_input(p) for p in passages]
    known = set(inputs)
    texts = list(dict.fromkeys(inputs)) + [t for t in dict.fromkeys(clause_texts(passages)) if t not in known]
    sample = random.Random(18).sample(texts, max(1, int(len(texts) * ENCODER_SAMPLE)))
    started = time.perf_counter()
    embedder.model.encode(sample, batch_size=embedder.batch_size, normalize_embeddings=True)
    return (time.perf_counter() - started) * len(texts) / len(sample)


# Scoring ----------------------------------------------------------------------------------------

@dataclass
class Scores:
    """One ranking's figures over the questions."""

    recall_at_10: float
    map_at_10: float
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float


def trec_recall(ranked: list[tuple[str, str]], gold: set[tuple[str, str]], depth: int = DEPTH) -> float:
    """trec_eval recall_<depth>: gold passages in the top `depth`, over all gold passages."""
    return len(set(ranked[:depth]) & gold) / len(gold)


def trec_map(ranked: list[tuple[str, str]], gold: set[tuple[str, str]], depth: int = DEPTH) -> float:
    """trec_eval map_cut_<depth>: the precision at each gold passage's rank within the top
    `depth`, summed and divided by the number of gold passages (found or not)."""
    found, total = 0, 0.0
    for rank, place in enumerate(ranked[:depth], start=1):
        if place in gold:
            found += 1
            total += found / rank
    return total / len(gold)


def first_right(ranked: list[tuple[str, str]], gold: set[tuple[str, str]], depth: int = DEPTH) -> int | None:
    return next((rank for rank, place in enumerate(ranked[:depth], start=1) if place in gold), None)


def score(rankings: list[list[tuple[str, str]]], golds: list[set[tuple[str, str]]],
          latencies: list[float]) -> Scores:
    """Means over the questions (a question with no hits counts as 0)."""
    count = len(golds)
    firsts = [first_right(ranked, gold) for ranked, gold in zip(rankings, golds, strict=True)]
    latencies = sorted(latencies)
    return Scores(
        recall_at_10=sum(map(trec_recall, rankings, golds)) / count,
        map_at_10=sum(map(trec_map, rankings, golds)) / count,
        recall_at_1=sum(r == 1 for r in firsts) / count,
        recall_at_5=sum(r is not None and r <= 5 for r in firsts) / count,
        mrr_at_10=sum(1 / r for r in firsts if r) / count,
        latency_p50_ms=round(statistics.median(latencies), 1),
        latency_p95_ms=round(latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))], 1))


# Questions --------------------------------------------------------------------------------------

def load_questions(obliqa: Path, limit: int, half: str = "") -> list[tuple[str, set[tuple[str, str]]]]:
    """(question, gold places) of the development split; `half` "even" or "odd" keeps the
    questions at those positions of the file; with a limit, a fixed random sample of them."""
    questions = json.loads((obliqa / "ObliQA_dev.json").read_text(encoding="utf-8"))
    if half:
        questions = questions[{"even": 0, "odd": 1}[half]::2]
    if limit:
        questions = random.Random(18).sample(questions, min(limit, len(questions)))
    return [(q["Question"], {(doc_id_of(int(g["DocumentID"])), same_place(g["PassageID"]))
                             for g in q["Passages"]}) for q in questions]


def places(store: Store, vector_ids: list[str]) -> list[tuple[str, str]]:
    """Distinct (document, locator) places of a ranking, in order: split parts of one clause
    count once, as search's hits do."""
    passages = store.catalogue.passages_by_vector_id(vector_ids)
    seen: dict[tuple[str, str], None] = {}
    for vector_id in vector_ids:
        if vector_id in passages:
            seen.setdefault((passages[vector_id].doc_id, same_place(passages[vector_id].locator)))
    return list(seen)


class RememberingEmbedder:
    """The embedder, keeping each query's vector: dense alone reuses the one search computed."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.vectors: dict[str, list[float]] = {}

    def embed_query(self, query: str) -> list[float]:
        if query not in self.vectors:
            self.vectors[query] = self.embedder.embed_query(query)
        return self.vectors[query]

    def __getattr__(self, name):
        return getattr(self.embedder, name)


def run_questions(store: Store, embedder: Embedder, questions, changed: dict | None = None) -> dict[str, Scores]:
    """The product's search (with the `changed` settings), BM25 alone and dense alone over every
    question (search's latency includes encoding the query; dense alone reuses that vector)."""
    embedder = RememberingEmbedder(embedder)  # type: ignore[assignment]
    changed = changed or {}
    search(store, embedder, "warm-up query", k=1)  # first-call costs are not search latency
    names = ["search", "fused only", "bm25", "dense"]
    rankings: dict[str, list] = {name: [] for name in names}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for question, _ in questions:
        started = time.perf_counter()
        with settings_applied(store, **changed):
            hits = search(store, embedder, question, k=DEPTH).hits
        latencies["search"].append((time.perf_counter() - started) * 1000)
        rankings["search"].append([(hit.passage.doc_id, same_place(hit.passage.locator)) for hit in hits])
        started = time.perf_counter()
        with settings_applied(store, **{**changed, **FUSED_ONLY}):
            hits = search(store, embedder, question, k=DEPTH).hits
        latencies["fused only"].append((time.perf_counter() - started) * 1000)
        rankings["fused only"].append([(hit.passage.doc_id, same_place(hit.passage.locator)) for hit in hits])
        started = time.perf_counter()
        keyword = [vector_id for vector_id, _ in store.keyword.search(question, RANKING_DEPTH)]
        rankings["bm25"].append(places(store, keyword))
        latencies["bm25"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        dense = [vector_id for vector_id, _ in
                 store.dense_search(embedder.embed_query(question), RANKING_DEPTH)]
        rankings["dense"].append(places(store, dense))
        latencies["dense"].append((time.perf_counter() - started) * 1000)
    golds = [gold for _, gold in questions]
    return {name: score(rankings[name], golds, latencies[name]) for name in rankings}


def coverage(store: Store, obliqa: Path) -> tuple[int, int]:
    """(benchmark passages with text, of those found as a place in the index)."""
    indexed = {(p.doc_id, same_place(p.locator)) for doc in store.catalogue.documents()
               for p in store.catalogue.passages(doc["doc_id"])}
    wanted = {(doc_id_of(n), same_place(p["PassageID"])) for n in range(1, 41)
              for p in json.loads((obliqa / "documents" / f"{n}.json").read_text(encoding="utf-8"))
              if p["Passage"].strip()}
    return len(wanted), len(wanted & indexed)


# Report -----------------------------------------------------------------------------------------

def print_report(report: dict) -> None:
    ingest_figures, results = report["ingest"], report["results"]
    print(f"machine: {ingest_figures['machine']}")
    print(f"ingest: {ingest_figures['documents']} documents, {ingest_figures['passages']} passages in "
          f"{ingest_figures['ingest_seconds']:.0f} s; encoder alone (estimated from a "
          f"{ENCODER_SAMPLE:.0%} sample) {ingest_figures['encoder_seconds_estimated']:.0f} s; "
          f"ratio {ingest_figures['ingest_to_encoder']:.2f}")
    print(f"benchmark passages with text found as a place: {report['covered']} of {report['passages_with_text']}")
    half = f", {report['half']} half" if report["half"] else ""
    print(f"questions: {report['questions']} (ObliQA dev{half}{', sample' if report['limit'] else ''}); "
          "latency: search includes encoding the question, dense alone reuses that vector")
    if report["changed"]:
        print("settings changed for this run: " + ", ".join(f"{k}={v}" for k, v in report["changed"].items()))
    names = list(results)
    print(f"{'measure':<16}" + "".join(f"{name:>12}" for name in names))
    for field in Scores.__dataclass_fields__:
        values = [results[name][field] for name in names]
        cells = "".join(f"{value:>12.1f}" if field.startswith("latency") else f"{value:>12.3f}"
                        for value in values)
        print(f"{field:<16}{cells}")
    print("(fused only, bm25 and dense reuse the query vector that search computed)")


def changed_settings(pairs: list[str]) -> dict:
    """`--set NAME=VALUE` pairs as settings values, checked against the settings' own types."""
    changed = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in Settings.model_fields or not value:
            sys.exit(f"--set {pair}: expected NAME=VALUE with NAME a setting (see kb/config.py)")
        changed[name] = value
    try:
        return Settings(**changed).model_dump(include=set(changed))
    except ValidationError as exc:
        sys.exit(f"--set: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obliqa", type=Path, default=DEFAULT_OBLIQA, help="the benchmark folder")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="data directory to build (or reuse)")
    parser.add_argument("--reuse", action="store_true", help="reuse --home when its ingest finished")
    parser.add_argument("--base", type=Path, help="start from a copy of this data directory "
                        "(e.g. one holding the default corpus) instead of an empty one")
    parser.add_argument("--embeddings-from", type=Path, help="an earlier run's --home: its embeddings "
                        "are reused, so only the ingest work around the encoder is timed")
    parser.add_argument("--limit", type=int, default=0, help="only a fixed random sample of N questions")
    parser.add_argument("--half", choices=["even", "odd"], help="only the questions at even or odd "
                        "positions of the dev file: tune on one half, report the other")
    parser.add_argument("--set", dest="changed", action="append", default=[], metavar="NAME=VALUE",
                        help="search with this setting changed (repeatable); nothing is written")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    changed = changed_settings(args.changed)
    if not (args.obliqa / "ObliQA_dev.json").is_file():
        sys.exit(f"no ObliQA benchmark at {args.obliqa} (see --obliqa)")
    home = args.home.expanduser().resolve()
    embedder = load_embedder(home=home)
    if args.reuse and (home / DONE_FILE).is_file():
        ingest_figures = json.loads((home / DONE_FILE).read_text())
    else:
        ingest_figures = ingest(args.obliqa, home, embedder, args.base, args.embeddings_from)
    # BM25 alone and dense alone read the store's own indexes: measured below the door on purpose.
    store = Store(load_settings(home=home))
    wanted, covered = coverage(store, args.obliqa)
    questions = load_questions(args.obliqa, args.limit, args.half or "")
    results = run_questions(store, embedder, questions, changed)
    report = {"ingest": ingest_figures, "passages_with_text": wanted, "covered": covered,
              "questions": len(questions), "limit": args.limit, "half": args.half or "", "changed": changed,
              "results": {name: asdict(scores) for name, scores in results.items()}}
    if args.as_json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
