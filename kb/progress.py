"""Progress display for long CLI work (rich, on standard error)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from kb.types import (
    DocumentDone,
    IngestDone,
    IngestStarted,
    ModelLoading,
    PassagesEmbedded,
    ProgressEvent,
    StageStarted,
)


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

    def handle(self, event: ProgressEvent) -> None:
        """Pipeline event handler."""
        if isinstance(event, IngestStarted):
            self.documents = self.progress.add_task("documents", total=event.total)
            self.passages = self.progress.add_task("passages", total=None, visible=False)
        elif isinstance(event, ModelLoading):
            self.progress.update(self.documents, description="loading the embedding model")
        elif isinstance(event, StageStarted):
            self.progress.update(self.documents, description=f"{event.doc_id}: {event.stage}")
            if event.stage == "embedding":
                self.progress.reset(self.passages, total=event.passages, visible=True,
                                    description=f"embedding {event.doc_id}")
        elif isinstance(event, PassagesEmbedded):
            self.progress.update(self.passages, completed=event.done)
        elif isinstance(event, DocumentDone):
            result = event.result
            self.progress.advance(self.documents)
            self.progress.update(self.passages, visible=False)
            if result.status in ("ingested", "unchanged"):
                detail = f"{result.passages} passages, {result.seconds:.1f} s"
                style = "green" if result.status == "ingested" else None
            else:
                detail, style = result.message, ("red" if result.status == "failed" else "yellow")
            self.progress.console.print(f"  {result.status:>9}  {result.doc_id}: {detail}",
                                        style=style, markup=False, highlight=False)
        elif isinstance(event, IngestDone):
            self.progress.update(self.documents, description="done")
