"""Scale: insert throughput, disk, peak memory, search latency and recall at 10k, 100k (1M) passages.

    python bench/scale.py run --source-home DIR [--sizes 10000,100000] [--million] [--server]
    python bench/scale.py report   # docs/performance.md table + plot

DIR is a data directory where the default corpus was ingested (`kb ingest`): its 2,414 real
passages and their real embeddings are the seed. Each size is a fresh store holding those real
passages plus synthetic ones made from them: the sentences of a real passage shuffled with one
sentence of another (real words for BM25), and that passage's embedding plus Gaussian noise,
normalised (cosine ~0.9 to its source). Embedding a million real passages would take days on 2
cores; the noise keeps synthetic vectors distinct so the HNSW graph does real work.

Recall: 50 real passages are held out as targets (no synthetic passage is made from them); the
query is 12 consecutive words of the target, embedded by the real model. Recall@10 is whether
the full hybrid search (`kb.search.search`) ranks the target in its top 10.

This measures the store below the KnowledgeBase door (kb/api.py), so it opens kb.store.Store
itself: it writes prepared passages and vectors straight into the store and times dense and
keyword search apart from the fused search.

Each stage (insert, keyword build, search) runs in its own process so that its peak memory
(ru_maxrss) is its own. With --server the same is measured against a `chroma run` server, whose
peak memory (VmHWM) is reported beside the client's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PER_DOCUMENT = 1000  # synthetic passages per synthetic document
HELD_OUT = 50
QUERY_WORDS = 12
NOISE = 0.025  # per-dimension standard deviation of the perturbation (unit vectors, 384-d)
SEED = 8
RESULTS = REPO / "docs" / "scale.json"  # kept beside the table it makes, so rows can be re-run one by one


# Seed: the real passages and embeddings of an ingested data directory ----------------------------

def export_seed(source_home: Path, out: Path) -> int:
    """Write the real passages (JSON) and their embeddings (npy) of an ingested store."""
    from kb.config import load_settings
    from kb.store import Store
    from kb.types import vector_id

    store = Store(load_settings(home=source_home))
    documents = store.catalogue.documents()
    passages, vector_ids = [], []
    for doc in documents:
        version = doc["version"]
        for passage in store.catalogue.passages(doc["doc_id"]):
            passages.append(passage.to_dict())
            vector_ids.append(vector_id(passage.passage_id, version))
    got = store.collection.get(ids=vector_ids, include=["embeddings"])
    by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
    vectors = np.asarray([by_id[v] for v in vector_ids], dtype=np.float32)
    (out / "passages.json").write_text(json.dumps({"documents": documents, "passages": passages}))
    np.save(out / "vectors.npy", vectors)
    return len(passages)


def load_seed(work: Path):
    data = json.loads((work / "passages.json").read_text())
    return data["documents"], data["passages"], np.load(work / "vectors.npy")


def held_out(passages: list[dict]) -> list[int]:
    """Indexes of the fixed sample of real passages used as search targets."""
    eligible = [i for i, p in enumerate(passages) if len(p["text"].split()) >= 30]
    return sorted(random.Random(SEED).sample(eligible, HELD_OUT))


def query_for(passage: dict) -> str:
    words = passage["text"].split()
    start = random.Random(passage["passage_id"]).randrange(0, len(words) - QUERY_WORDS)
    return " ".join(words[start:start + QUERY_WORDS])


# Stages (each in its own process) ----------------------------------------------------------------

def stage_insert(settings, work: Path, size: int) -> dict:
    """Store the real documents, then synthetic ones up to `size` passages."""
    from kb.store import Store
    from kb.types import Fetched, Passage, Source

    documents, passages, vectors = load_seed(work)
    store = Store(settings)
    targets = set(held_out(passages))
    pool = [i for i in range(len(passages)) if i not in targets]
    sentences = [re.split(r"(?<=[.;:])\s+", p["text"]) for p in passages]
    started = time.perf_counter()
    by_doc: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_doc.setdefault(p["doc_id"], []).append(i)
    for doc in documents:
        indexes = by_doc[doc["doc_id"]]
        source = Source(id=doc["doc_id"], title=doc["title"], canonical_url=doc["canonical_url"],
                        jurisdiction=doc["jurisdiction"] or "", issuer=doc["issuer"] or "",
                        doc_type=doc["doc_type"] or "", date=doc["date"] or "")
        fetched = Fetched.create(doc["doc_id"].encode(), url=doc["canonical_url"],
                                 final_url=doc["canonical_url"], content_type="text/plain", origin="file")
        store.replace_document(source, fetched, doc["version"], doc["parser"] or "text",
                               [Passage(**passages[i]) for i in indexes],
                               vectors[indexes].tolist(), doc["embed_model"] or "")
    remaining, number = size - len(passages), 0
    while remaining > 0:
        count = min(PER_DOCUMENT, remaining)
        rng = np.random.default_rng(SEED + number)
        doc_id = f"synthetic-{number:05d}"
        sources = rng.choice(pool, size=count)
        texts = []
        for i in sources:
            parts = list(sentences[i]) + [random.Random(int(rng.integers(1 << 30))).choice(
                sentences[int(rng.choice(pool))])]
            rng.shuffle(parts)
            texts.append(" ".join(parts))
        noisy = vectors[sources] + rng.normal(0, NOISE, (count, vectors.shape[1])).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        source = Source(id=doc_id, title=f"Synthetic document {number}",
                        canonical_url=f"https://example.org/{doc_id}", jurisdiction="XX")
        fetched = Fetched.create(doc_id.encode(), url=source.canonical_url,
                                 final_url=source.canonical_url, content_type="text/plain", origin="file")
        batch = [Passage(passage_id=f"{doc_id}:p{n}", doc_id=doc_id, title=source.title,
                         locator=f"Passage {n}", url=f"{source.canonical_url}#p{n}", text=text,
                         heading_path=list(passages[int(i)]["heading_path"]), ordinal=n,
                         tokens=passages[int(i)]["tokens"], kind="paragraph")
                 for n, (text, i) in enumerate(zip(texts, sources, strict=True))]
        store.replace_document(source, fetched, "v1", "text", batch, noisy.tolist(), "synthetic")
        remaining -= count
        number += 1
    seconds = time.perf_counter() - started
    total = store.vector_count()
    store.close()
    return {"passages": total, "insert_s": seconds, "insert_per_s": total / seconds}


def stage_keyword(settings, work: Path, size: int) -> dict:
    """Build the keyword index from the whole catalogue, as every change does."""
    from kb.store import Store

    store = Store(settings)
    started = time.perf_counter()
    store.refresh_keyword_index(force=True)
    return {"keyword_build_s": time.perf_counter() - started,
            "keyword_disk_mb": disk_mb(settings.home / "keyword")}


def stage_search(settings, work: Path, size: int, repeats: int = 2) -> dict:
    """Latency of dense, keyword and full hybrid search, and recall@10 of the hybrid search."""
    from kb.embedding import Embedder
    from kb.search import search
    from kb.store import Store

    _, passages, _ = load_seed(work)
    targets = [passages[i] for i in held_out(passages)]
    queries = [query_for(p) for p in targets]
    embedder = Embedder(settings)
    started = time.perf_counter()
    store = Store(settings)
    search(store, embedder, "warm up: general purpose AI models", k=10)
    cold_s = time.perf_counter() - started
    candidates = settings.candidates
    timings: dict[str, list[float]] = {"dense": [], "keyword": [], "fused": [], "encode": []}
    found = 0
    for round_ in range(repeats):
        for target, query in zip(targets, queries, strict=True):
            t0 = time.perf_counter()
            embedding = embedder.embed_query(query)
            t1 = time.perf_counter()
            store.dense_search(embedding, candidates)
            t2 = time.perf_counter()
            store.keyword.search(query, candidates)
            t3 = time.perf_counter()
            hits = search(store, embedder, query, k=10).hits
            t4 = time.perf_counter()
            for name, seconds in (("encode", t1 - t0), ("dense", t2 - t1), ("keyword", t3 - t2),
                                  ("fused", t4 - t3)):
                timings[name].append(seconds * 1000)
            if round_ == 0:
                found += any(hit.passage.passage_id == target["passage_id"] for hit in hits)
    result = {"cold_first_search_s": cold_s, "recall_at_10": found / len(targets)}
    for name, values in timings.items():
        result[f"{name}_p50_ms"] = percentile(values, 50)
        result[f"{name}_p95_ms"] = percentile(values, 95)
    return result


STAGES = {"insert": stage_insert, "keyword": stage_keyword, "search": stage_search}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


def run_stage(name: str, home: Path, work: Path, size: int, chroma_url: str) -> dict:
    """Run one stage in a fresh process; its figures plus its peak resident memory."""
    command = [sys.executable, __file__, "stage", name, "--home", str(home), "--work", str(work),
               "--size", str(size), "--chroma-url", chroma_url]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"stage {name} at {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# The server --------------------------------------------------------------------------------------

class ChromaServer:
    """A `chroma run` subprocess on a free local port."""

    def __init__(self, path: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.path = path
        self.url = f"http://127.0.0.1:{port}"
        executable = Path(sys.executable).with_name("chroma")
        self.log = (path.parent / f"{path.name}.log").open("w")
        self.process = subprocess.Popen(
            [str(executable) if executable.is_file() else "chroma", "run", "--path", str(path),
             "--host", "127.0.0.1", "--port", str(port)], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("chroma run did not start")

    def peak_mb(self) -> float:
        """The server's peak resident memory so far (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def measure(size: int, work: Path, server: bool) -> dict:
    """Every stage at one size, for the embedded store or a server; the data is then deleted."""
    home = Path(tempfile.mkdtemp(prefix=f"kb-scale-{size}-", dir=work))
    chroma = ChromaServer(home / "server-db") if server else None
    try:
        url = chroma.url if chroma else ""
        row = {"size": size, "store": "server" if server else "embedded"}
        for name in STAGES:
            figures = run_stage(name, home, work, size, url)
            row.update({k: v for k, v in figures.items() if k != "maxrss_mb"})
            row[f"{name}_peak_mb"] = figures["maxrss_mb"]
            print(f"  {row['store']} {size}: {name} {figures}", flush=True)
        row["disk_mb"] = disk_mb(home)
        if chroma:
            row["server_peak_mb"] = chroma.peak_mb()
        return row
    finally:
        if chroma:
            chroma.stop()
        shutil.rmtree(home, ignore_errors=True)


# Commands ----------------------------------------------------------------------------------------

def command_run(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.million else [])
    work = Path(tempfile.mkdtemp(prefix="kb-scale-", dir=args.tmp))
    from kb.config import load_settings

    args.source_home = args.source_home or load_settings().home
    seed = export_seed(args.source_home, work)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}; seed: {seed} real passages from {args.source_home}", flush=True)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"rows": []}
    results["machine"] = machine
    for size in sizes:
        for server in ([True] if args.server_only else [False, True] if args.server else [False]):
            row = measure(size, work, server)
            row["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            results["rows"] = [r for r in results["rows"]
                               if (r["size"], r["store"]) != (row["size"], row["store"])] + [row]
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    print(table(results["rows"]))


def command_stage(args) -> None:
    from kb.config import load_settings

    settings = load_settings(home=args.home, chroma_url=args.chroma_url)
    figures = STAGES[args.name](settings, args.work, args.size)
    figures["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


COLUMNS = [
    ("passages", "size", "{:,}"), ("store", "store", "{}"),
    ("insert /s", "insert_per_s", "{:,.0f}"), ("insert peak MB", "insert_peak_mb", "{:,.0f}"),
    ("keyword build s", "keyword_build_s", "{:,.1f}"), ("keyword peak MB", "keyword_peak_mb", "{:,.0f}"),
    ("disk MB", "disk_mb", "{:,.0f}"),
    ("dense p50/p95 ms", ("dense_p50_ms", "dense_p95_ms"), "{:.0f} / {:.0f}"),
    ("keyword p50/p95 ms", ("keyword_p50_ms", "keyword_p95_ms"), "{:.0f} / {:.0f}"),
    ("hybrid p50/p95 ms", ("fused_p50_ms", "fused_p95_ms"), "{:.0f} / {:.0f}"),
    ("query encoding p50 ms (load gauge)", "encode_p50_ms", "{:.0f}"),
    ("search peak MB", "search_peak_mb", "{:,.0f}"), ("server peak MB", "server_peak_mb", "{:,.0f}"),
    ("recall@10", "recall_at_10", "{:.2f}"),
]


def table(rows: list[dict]) -> str:
    """The results as a Markdown table, by size then store."""
    lines = ["| " + " | ".join(title for title, _, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for row in sorted(rows, key=lambda r: (r["size"], r["store"])):
        cells = []
        for _, keys, form in COLUMNS:
            keys = keys if isinstance(keys, tuple) else (keys,)
            values = [row.get(k) for k in keys]
            cells.append("" if None in values else form.format(*values))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def command_report(args) -> None:
    """Replace the table between the markers in docs/performance.md and draw docs/scale.png."""
    results = json.loads(args.results.read_text())
    doc = REPO / "docs" / "performance.md"
    text = doc.read_text()
    start, end = "<!-- scale-table -->", "<!-- /scale-table -->"
    before, rest = text.split(start)
    _, after = rest.split(end)
    note = f"\n\nMachine: {results['machine']} (shared with other jobs: timings are noisy).\n"
    doc.write_text(f"{before}{start}\n{table(results['rows'])}{note}{end}{after}")
    plot(results["rows"], REPO / "docs" / "scale.png")
    print(f"updated {doc} and docs/scale.png")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, memory) = plt.subplots(1, 2, figsize=(11, 4))
    for store, style in (("embedded", "-"), ("server", "--")):
        mine = sorted((r for r in rows if r["store"] == store), key=lambda r: r["size"])
        if not mine:
            continue
        sizes = [r["size"] for r in mine]
        for key, label in (("dense_p50_ms", "dense"), ("keyword_p50_ms", "keyword"),
                           ("fused_p50_ms", "hybrid")):
            latency.plot(sizes, [r[key] for r in mine], style, marker="o", label=f"{label} ({store})")
        memory.plot(sizes, [r["search_peak_mb"] for r in mine], style, marker="o",
                    label=f"search process ({store})")
        memory.plot(sizes, [r["keyword_peak_mb"] for r in mine], style, marker="s",
                    label=f"keyword build ({store})")
        if store == "server":
            memory.plot(sizes, [r.get("server_peak_mb", 0) for r in mine], style, marker="^",
                        label="chroma server")
    latency.axhline(150, color="grey", linewidth=0.8)
    for axes, title, unit in ((latency, "search latency, p50", "ms"), (memory, "peak memory", "MB")):
        axes.set_xscale("log")
        axes.set_xlabel("passages")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="measure and append to the results JSON")
    run.add_argument("--source-home", type=Path, default=None,
                     help="data directory with the default corpus ingested (default: KB_HOME, "
                          "else ~/.local/share/policy-kb)")
    run.add_argument("--sizes", default="2414,10000,100000",
                     help="comma-separated passage counts, each at least the seed's (2,414: the real "
                          "corpus alone)")
    run.add_argument("--million", action="store_true", help="also 1,000,000 (takes an hour or more)")
    run.add_argument("--server", action="store_true", help="also measure against `chroma run`")
    run.add_argument("--server-only", action="store_true",
                     help="measure against `chroma run` only (re-measure a server row)")
    run.add_argument("--out", type=Path, default=RESULTS)
    run.add_argument("--tmp", type=Path, default=None, help="where the temporary stores go")
    run.set_defaults(handler=command_run)
    stage = commands.add_parser("stage", help=argparse.SUPPRESS)
    stage.add_argument("name", choices=list(STAGES))
    stage.add_argument("--home", type=Path, required=True)
    stage.add_argument("--work", type=Path, required=True)
    stage.add_argument("--size", type=int, required=True)
    stage.add_argument("--chroma-url", default="")
    stage.set_defaults(handler=command_stage)
    report = commands.add_parser("report", help="results JSON -> docs/performance.md table and plot")
    report.add_argument("results", type=Path, nargs="?", default=RESULTS)
    report.set_defaults(handler=command_report)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
