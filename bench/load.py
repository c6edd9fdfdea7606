"""Load: concurrent searches and asks against the library and against the running app.

    python bench/load.py [--seconds 60] [--workers 4] [--backend extractive] [--app-pages 3]

Library: `--workers` threads share one store and one embedding model (as the app's server does)
and alternate searches and asks (with `--backend`) over bench/questions.jsonl for `--seconds`.
App: the real app (`streamlit run app.py`, on 127.0.0.1 only) with `--app-pages` Chromium pages
(Debian's /usr/bin/chromium) searching in turn. Prints throughput, p50/p95/p99 and errors; the
goal is zero errors. Uses the store in KB_HOME (run `kb ingest` first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.api import KnowledgeBase

HERE = Path(__file__).resolve().parent


def questions() -> list[str]:
    lines = (HERE / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def percentiles(values: list[float]) -> str:
    if not values:
        return "no requests"
    values = sorted(values)
    pick = lambda share: values[min(len(values) - 1, round(share * (len(values) - 1)))]  # noqa: E731
    return f"p50 {pick(0.5):.0f} ms, p95 {pick(0.95):.0f} ms, p99 {pick(0.99):.0f} ms"


def library_load(seconds: float, workers: int, backend: str) -> None:
    kb = KnowledgeBase.open()
    pool = questions()
    timings: dict[str, list[float]] = {"search": [], "ask": []}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    kb.ask("warm-up: which practices are banned?", backend=backend)

    def work(worker: int) -> None:
        turn = worker
        while time.monotonic() < deadline:
            question = pool[turn % len(pool)]
            kind = "search" if turn % 2 == 0 else "ask"
            started = time.perf_counter()
            try:
                if kind == "search":
                    kb.search(question, k=10)
                else:
                    kb.ask(question, backend=backend)
                with lock:
                    timings[kind].append((time.perf_counter() - started) * 1000)
            except Exception as exc:  # every failure is counted and shown, none is fatal
                with lock:
                    errors.append(f"{kind} {question[:40]!r}: {type(exc).__name__}: {exc}")
            turn += workers

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    total = sum(len(v) for v in timings.values())
    print(f"library, {workers} threads, {elapsed:.0f} s, asks with {backend}: "
          f"{total / elapsed:.1f} requests/s, {len(errors)} errors")
    for kind, values in timings.items():
        print(f"  {kind:6} {len(values):5} done; {percentiles(values)}")
    for error in errors[:10]:
        print(f"  error: {error}")


async def app_load(seconds: float, pages: int) -> None:
    from playwright.async_api import async_playwright

    from scripts.app_server import running_app

    env = {name: value for name, value in os.environ.items() if name.startswith("KB_")}
    pool = questions()
    timings: list[float] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as folder, running_app(env, log=Path(folder) / "streamlit.log") as url:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium")

            async def user(number: int) -> None:
                page = await browser.new_page()
                await page.goto(f"{url}/search")
                box = page.get_by_label("Question or keywords")
                await box.wait_for(timeout=120_000)
                turn = number
                while time.monotonic() < deadline:
                    question = pool[turn % len(pool)]
                    turn += pages
                    started = time.perf_counter()
                    try:
                        await box.fill(question)
                        await box.press("Enter")
                        status = page.get_by_test_id("stStatusWidget")
                        # The rerun starts: Streamlit shows its "running" widget (a very fast
                        # rerun may finish before we look).
                        with contextlib.suppress(Exception):
                            await status.wait_for(state="attached", timeout=3_000)
                        await status.wait_for(state="detached", timeout=60_000)
                        await page.get_by_role("link", name="Official text").first.wait_for(timeout=10_000)
                        if await page.get_by_test_id("stException").count() or \
                                await page.get_by_test_id("stAlertContentError").count():
                            errors.append(f"page {number}: error shown for {question[:40]!r}")
                        else:
                            timings.append((time.perf_counter() - started) * 1000)
                    except Exception as exc:
                        errors.append(f"page {number}: {type(exc).__name__}: {str(exc)[:100]}")

            warm = await browser.new_page()  # the first search loads the model: not part of the load
            await warm.goto(f"{url}/search")
            await warm.get_by_label("Question or keywords").fill("warm-up")
            await warm.get_by_label("Question or keywords").press("Enter")
            await warm.get_by_role("link", name="Official text").first.wait_for(timeout=180_000)
            await warm.close()
            deadline = time.monotonic() + seconds
            started = time.monotonic()
            await asyncio.gather(*(user(n) for n in range(pages)))
            elapsed = time.monotonic() - started
            await browser.close()
    print(f"app, {pages} browser pages searching, {elapsed:.0f} s: {len(timings) / elapsed:.2f} searches/s, "
          f"{len(errors)} errors; {percentiles(timings)}")
    for error in errors[:10]:
        print(f"  error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backend", default="extractive", help="backend for the asks (default: extractive)")
    parser.add_argument("--app-pages", type=int, default=3, help="browser pages against the app (0: skip)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start")
    library_load(args.seconds, args.workers, args.backend)
    if args.app_pages:
        asyncio.run(app_load(args.seconds, args.app_pages))


if __name__ == "__main__":
    main()
