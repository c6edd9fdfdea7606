"""What every page shares: the knowledge base opened once per server, errors shown with the CLI's
message, and document text rendered as text, never as markup or HTML.

Pages import only kb.api, kb.types and kb.errors: what the app does, the CLI does the same way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import streamlit as st

from kb.api import KnowledgeBase
from kb.errors import KbError
from kb.types import Document, FactLink, HitContext, Passage

READ_PAGE = "ui/read.py"

# Every character Markdown (or Streamlit's :color[...] and :icon: syntax, or $math$) gives a meaning.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&])")


@st.cache_resource(show_spinner=False)
def _open_kb() -> KnowledgeBase:
    return KnowledgeBase.open()


def open_kb() -> KnowledgeBase:
    """The knowledge base of KB_HOME, opened once per server; a page stops with the error if it
    cannot."""
    try:
        return _open_kb()
    except KbError as exc:
        st.error(str(exc))
        st.stop()
        raise  # st.stop() raises already; this tells type checkers that nothing follows


def with_models(kb: KnowledgeBase) -> KnowledgeBase:
    """The knowledge base with its embedding model loaded (about 10 s once per server start,
    under a spinner)."""
    if not kb.embedder_loaded:
        with st.spinner("Loading the embedding model (about 10 seconds, once per server start)…"):
            kb.embedder  # noqa: B018 - loading is the point
    return kb


@contextmanager
def errors_shown() -> Iterator[None]:
    """Show a KbError as the one-line message the CLI prints, instead of a traceback."""
    try:
        yield
    except KbError as exc:
        st.error(str(exc), icon=":material/error:")


def as_text(text: str) -> str:
    """Document text as Markdown that shows exactly these characters, line breaks kept."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def web_link(url: str) -> str | None:
    """The URL when a browser may open it from the app (http, https), else None."""
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def read_params(passage: Passage) -> dict[str, str]:
    """Query parameters that open the Read page at a passage's place."""
    return {"doc": passage.doc_id, "locator": passage.locator}


def passage_card(passage: Passage, heading: str, caption: str = "", context: HitContext | None = None) -> None:
    """A passage in a bordered card: its place, its text, and links to read it in context and
    to open the official text there; with a search hit's context, the definitions of the
    question's terms it uses and the provisions it refers to, each a link."""
    with st.container(border=True):
        st.markdown(f"**{as_text(heading)}**")
        if caption:
            st.caption(as_text(caption))
        status_warning(passage.status_label, passage.metadata.get("status_note", ""))
        st.markdown(as_text(passage.text))
        place_links(passage)
        if context is not None and (context.definitions or context.refers_to):
            counts = [f"{len(links)} {name}" for name, links in
                      (("defined terms", context.definitions), ("references", context.refers_to)) if links]
            with st.expander(" · ".join(counts), icon=":material/link:"):
                fact_links("Defined terms of your question", context.definitions)
                fact_links("Refers to", context.refers_to)


def fact_links(title: str, links: list[FactLink]) -> None:
    """Definitions or references, each a link: to its place on the Read page when the knowledge
    base holds it, else to the act's official text, else as words."""
    if not links:
        return
    st.markdown(f"**{title}**")
    for link in links:
        label = link.label if not link.locator or link.locator == link.label else f"{link.label}: {link.locator}"
        if link.passage_id:
            st.page_link(READ_PAGE, label=as_text(label), icon=":material/arrow_outward:",
                         query_params={"doc": link.passage_id.split(":", 1)[0], "locator": link.locator})
        elif web_link(link.url):
            st.markdown(f"[{as_text(label)}]({link.url}) (not in the knowledge base)")
        else:
            st.caption(as_text(f"{label} (not in the knowledge base)"))


def status_warning(label: str, note: str) -> None:
    """A revoked or replaced document says so wherever it is cited ("" label: in force, nothing)."""
    if label:
        st.warning(as_text(f"This document was {label}." + (f" {note}" if note else "")),
                   icon=":material/history:")


def place_links(passage: Passage) -> None:
    """Links that open a passage on the Read page and, when it is on the web, the official text."""
    read, official, _ = st.columns([1, 1, 3])
    read.page_link(READ_PAGE, label="Read in context", icon=":material/menu_book:",
                   query_params=read_params(passage))
    if web_link(passage.url):
        official.link_button("Official text", passage.url, icon=":material/open_in_new:")


def document_label(documents: dict[str, Document]):
    """A format_func showing "title (id)" for document ids in select boxes."""
    def label(doc_id: str) -> str:
        document = documents.get(doc_id)
        title = document.title if document and document.title else doc_id
        return f"{title if len(title) <= 80 else title[:79] + '…'} ({doc_id})"
    return label


def documents_by_id(kb: KnowledgeBase) -> dict[str, Document]:
    """The live documents, by id, in id order."""
    return {document.doc_id: document for document in kb.documents()}


def sidebar(kb: KnowledgeBase) -> None:
    """The corpus in one line and where it lives, on every page."""
    documents = kb.documents()
    passages = sum(doc.passages for doc in documents)
    st.sidebar.caption(f"{len(documents)} documents, {passages:,} passages  \n"
                       f"Data: {as_text(str(kb.home))}")
