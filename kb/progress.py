"""Progress display for long CLI work (rich, on standard error)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class IngestProgress:
    """Renders pipeline events: one bar for documents, one for the passages being embedded."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=Console(stderr=True), transient=False,
            disable=not enabled)
        # Created by the "start" event; the pipeline sends it before any other.
        self.documents = TaskID(-1)
        self.passages = TaskID(-1)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def handle(self, event: str, info: dict) -> None:
        """Pipeline event handler."""
        if event == "start":
            self.documents = self.progress.add_task("documents", total=info["total"])
            self.passages = self.progress.add_task("passages", total=None, visible=False)
        elif event == "loading-model":
            self.progress.update(self.documents, description="loading the embedding model")
        elif event == "document":
            self.progress.update(self.documents, description=f"{info['doc_id']}: {info['stage']}")
            if info["stage"] == "embedding":
                self.progress.reset(self.passages, total=info["passages"], visible=True,
                                    description=f"embedding {info['doc_id']}")
        elif event == "embedded":
            self.progress.update(self.passages, completed=info["done"])
        elif event == "result":
            result = info["result"]
            self.progress.advance(self.documents)
            self.progress.update(self.passages, visible=False)
            if result.status in ("ingested", "unchanged"):
                detail = f"{result.passages} passages, {result.seconds:.1f} s"
                style = "green" if result.status == "ingested" else None
            else:
                detail, style = result.message, ("red" if result.status == "failed" else "yellow")
            self.progress.console.print(f"  {result.status:>9}  {result.doc_id}: {detail}",
                                        style=style, markup=False, highlight=False)
        elif event == "done":
            self.progress.update(self.documents, description="done")
