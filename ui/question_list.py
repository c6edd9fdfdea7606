"""The Ask page's list of questions: a file of questions answered in one go, as `kb ask --batch`
does, with progress, and the report to download as JSON lines, Markdown or CSV."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath

import streamlit as st

from kb.api import BATCH_FORMATS, KnowledgeBase, SearchFilters, batch_report
from ui.common import as_text, errors_shown, with_models

# What each report format is called on its button, and its media type.
REPORTS = {"jsonl": ("JSON lines", "application/jsonl"), "md": ("Markdown", "text/markdown"),
           "csv": ("CSV", "text/csv")}
assert set(REPORTS) == set(BATCH_FORMATS)
UPLOAD_LIMIT_MB = 1  # a thousand questions are a few dozen kilobytes


@dataclass
class AnsweredList:
    """The records of one uploaded file's questions, as far as they were answered."""

    name: str
    total: int
    records: list[dict] = field(default_factory=list)


def question_list(kb: KnowledgeBase, backend: str, filters: SearchFilters, as_of: date) -> None:
    """Upload a question file, answer every question, offer the report."""
    answered: AnsweredList | None = st.session_state.get("question_list")
    with st.expander("Answer a list of questions", icon=":material/checklist:", expanded=answered is not None):
        st.caption(f"A text file with one question per line, or JSON lines with \"id\" and \"question\" "
                   f"(as `kb ask --batch` reads), at most {kb.settings.batch_max_questions} questions. "
                   "Each is answered as in the chat, with the settings on the left.")
        upload = st.file_uploader("Question file", type=["txt", "jsonl"], max_upload_size=UPLOAD_LIMIT_MB,
                                  key="question_file")
        if st.button("Answer every question", icon=":material/play_arrow:", disabled=upload is None):
            assert upload is not None
            st.session_state.question_list = answered = None  # a new file's report, or its error
            with errors_shown():
                questions = kb.uploaded_questions(upload.name, upload.getvalue())
                answered = st.session_state.question_list = AnsweredList(upload.name, len(questions))
                bar = st.progress(0.0, text=f"Answering {len(questions)} questions (the first also loads the models)…")
                for record in with_models(kb).ask_batch(questions, backend=backend, filters=filters,
                                                        as_of=as_of.isoformat()):
                    answered.records.append(record)
                    done = len(answered.records)
                    bar.progress(done / answered.total, text=f"{done} of {answered.total} questions answered")
        if answered is not None:
            show_report(answered)


def show_report(answered: AnsweredList) -> None:
    """A line per question, and the report in each format to download."""
    done = len(answered.records)
    summary = f"{done} of {answered.total} questions of {answered.name} answered"
    st.markdown(f"**{as_text(summary)}**" + ("" if done == answered.total else " (stopped by the error above)"))
    st.dataframe([{"id": record["id"], "question": record["question"], "mode": record["mode"],
                   "citations": len(record["citations"]), "answer": record["answer"].strip()}
                  for record in answered.records], hide_index=True)
    stem = PurePath(answered.name).stem or "questions"
    columns = st.columns(len(REPORTS))
    for column, (output_format, (label, mime)) in zip(columns, REPORTS.items(), strict=True):
        column.download_button(f"Download {label}", batch_report(answered.records, "ask", output_format),
                               file_name=f"{stem}-answers.{output_format}", mime=mime,
                               icon=":material/download:", on_click="ignore")
