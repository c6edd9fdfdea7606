"""Corpus: the documents with their provenance; add (URL or upload), refresh and remove.

Changes are the same KnowledgeBase calls as `kb add`, `kb ingest` and `kb remove` (each under
the data directory's write lock), guarded by the admin token when the app is reachable from the
network.
"""

import math

import pandas as pd
import streamlit as st

from kb.api import CLOSED_MESSAGE, ChangeAccess, change_access, is_url, token_matches
from kb.errors import UsageError
from kb.types import DocumentDone, ModelLoading, PassagesEmbedded, ProgressEvent, StageStarted
from ui.common import as_text, document_label, documents_by_id, errors_shown, open_kb, web_link

kb = open_kb()
settings = kb.settings
documents = documents_by_id(kb)

st.title("Corpus")

# The table's columns: what people compare first, then provenance.
COLUMNS = ("doc_id", "passages", "jurisdiction", "date", "doc_type", "title", "issuer", "fetched_at",
           "sha256", "source", "canonical_url", "fetched_from", "final_url", "origin", "parser", "ingested_at")
COLUMN_CONFIG = {
    "doc_id": st.column_config.TextColumn("id", pinned=True),
    "title": st.column_config.TextColumn("title", width="medium"),
    "source": st.column_config.LinkColumn("source"),  # only http(s) links are clickable
    "canonical_url": st.column_config.TextColumn("canonical URL"),
    "final_url": st.column_config.TextColumn("fetched from URL"),
    "fetched_from": st.column_config.TextColumn("via"),
}

if documents:
    table = pd.DataFrame([doc.to_json() for doc in documents.values()])
    table["source"] = [web_link(url) for url in table["canonical_url"]]
    st.dataframe(table, hide_index=True, column_order=COLUMNS, column_config=COLUMN_CONFIG)
else:
    st.info("No documents yet: add one below, or run `kb ingest --mirror ../shared/corpus`.")


def may_change() -> bool:
    """Whether this session may change the corpus; shows why not, or asks for the token."""
    token = settings.admin_token.get_secret_value()
    access = change_access(st.get_option("server.address") or "", token)
    if access is ChangeAccess.CLOSED:
        st.info(CLOSED_MESSAGE, icon=":material/lock:")
        return False
    if access is ChangeAccess.TOKEN and not st.session_state.get("admin"):
        given = st.text_input("Admin token (KB_ADMIN_TOKEN) to change the corpus", type="password")
        if not given:
            return False
        if not token_matches(given, token):
            st.error("That is not the admin token.")
            return False
        st.session_state["admin"] = True
    return True


class StatusProgress:
    """Shows pipeline events in an st.status box: stages as lines, embedding as a progress bar."""

    def __init__(self, status):
        self.status = status
        self.bar = None

    def handle(self, event: ProgressEvent) -> None:
        if isinstance(event, ModelLoading):
            self.status.update(label="Loading the embedding model…")
        elif isinstance(event, StageStarted):
            self.status.update(label=f"{event.doc_id}: {event.stage}")
            self.status.write(as_text(f"{event.doc_id}: {event.stage}"))
            if event.stage == "embedding":
                self.bar = self.status.progress(0.0, text=f"embedding {event.passages} passages")
        elif isinstance(event, PassagesEmbedded) and self.bar is not None:
            self.bar.progress(event.done / max(event.total, 1),
                              text=f"embedded {event.done} of {event.total} passages")
        elif isinstance(event, DocumentDone):
            self.status.write(as_text(event.result.summary()))


def run_change(label: str, change) -> None:
    """Run `change(on_event)` (a KnowledgeBase call) with live progress; rerun to show the result."""
    with st.status(label, expanded=True) as status, errors_shown():
        outcome = change(StatusProgress(status).handle)
        status.update(label=outcome, state="complete")
        st.session_state["last_change"] = outcome
        st.rerun()
    status.update(state="error")


def metadata_fields(prefix: str) -> dict[str, str]:
    """The optional metadata of a new document, as `kb add` options."""
    left, middle, right = st.columns(3)
    date = middle.date_input("Date of the text", value=None, key=f"{prefix}-date")
    return {
        "title": left.text_input("Title (default: the document's own)", key=f"{prefix}-title"),
        "issuer": middle.text_input("Issuer", key=f"{prefix}-issuer"),
        "jurisdiction": right.text_input("Jurisdiction", placeholder="EU, US, international",
                                         key=f"{prefix}-jurisdiction"),
        "doc_type": left.text_input("Type", placeholder="regulation, guidance, web_page",
                                    key=f"{prefix}-type"),
        "date": date.isoformat() if date else "",
    }


if "last_change" in st.session_state:
    st.success(as_text(st.session_state.pop("last_change")))

st.header("Change the corpus")
if may_change():
    by_url, by_upload, refresh, remove = st.tabs(["Add a web page", "Upload a file", "Refresh", "Remove"])
    with by_url, st.form("add-url"):
        url = st.text_input("URL (http or https)", placeholder="https://example.org/guidance.html")
        metadata = metadata_fields("url")
        if st.form_submit_button("Add", icon=":material/add:") and url.strip():
            with errors_shown():
                if not is_url(url.strip()):
                    raise UsageError(f"only http(s) URLs can be added, not '{url.strip()}'")
                run_change(f"Adding {url.strip()}",
                           lambda on_event: kb.add(url.strip(), on_event=on_event, **metadata).summary())
    with by_upload, st.form("add-upload", clear_on_submit=True):
        upload = st.file_uploader("PDF, HTML, Markdown or text file",
                                  type=["pdf", "html", "htm", "md", "markdown", "txt"],
                                  max_upload_size=max(1, math.ceil(settings.max_bytes / 2**20)))
        official = st.text_input("Official URL to link passages to (optional)")
        metadata = metadata_fields("upload")
        if st.form_submit_button("Add", icon=":material/upload:") and upload is not None:
            with errors_shown():
                if official.strip() and not is_url(official.strip()):
                    raise UsageError(f"the official URL must be http(s), not '{official.strip()}'")
                content = upload.getvalue()
                run_change(f"Adding {upload.name}", lambda on_event: kb.add_upload(
                    upload.name, content, url=official.strip(), on_event=on_event, **metadata).summary())
    with refresh:
        st.caption("Fetch again and re-index what changed (from KB_MIRROR when it is set). "
                   "A document that fails keeps its previous version.")
        one, every = st.columns([3, 1], vertical_alignment="bottom")
        target = one.selectbox("Document", list(documents), format_func=document_label(documents),
                               key="refresh-doc")
        if one.button("Refresh this document", disabled=target is None):
            run_change(f"Refreshing {target}", lambda on_event: kb.refresh(target, on_event=on_event).summary())
        if every.button("Refresh all"):
            run_change("Refreshing every document", lambda on_event: kb.refresh(on_event=on_event).summary())
    with remove:
        target = st.selectbox("Document", list(documents), format_func=document_label(documents),
                              key="remove-doc")
        pending = st.session_state.get("pending_removal")
        if pending is None and st.button("Remove…", disabled=target is None, icon=":material/delete:"):
            st.session_state["pending_removal"] = target
            st.rerun()
        if pending is not None:
            st.warning(as_text(f"Remove {pending} and its {documents[pending].passages if pending in documents else 0} "
                               "passages? A document of the default corpus comes back on the next refresh."))
            yes, no, _ = st.columns([1, 1, 4])
            if yes.button("Yes, remove", type="primary"):
                del st.session_state["pending_removal"]
                run_change(f"Removing {pending}", lambda on_event: kb.remove(pending))
            if no.button("Cancel"):
                del st.session_state["pending_removal"]
                st.rerun()
