"""What every page shares: the store and the model opened once per server, errors shown with the
CLI's message, and document text rendered as text, never as markup or HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import streamlit as st

from kb.config import Settings, load_settings
from kb.embedding import Embedder
from kb.errors import KbError
from kb.store import Store
from kb.types import Passage

READ_PAGE = "ui/read.py"

# Every character Markdown (or Streamlit's :color[...] and :icon: syntax, or $math$) gives a meaning.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&])")


@st.cache_resource(show_spinner=False)
def _open_store() -> Store:
    return Store(load_settings())


@st.cache_resource(show_spinner="Loading the embedding model (about 10 seconds, once per server start)…")
def _load_embedder(_settings: Settings) -> Embedder:
    return Embedder(_settings)


def open_store() -> Store:
    """The store of KB_HOME, opened once per server; a page stops with the error if it cannot."""
    try:
        return _open_store()
    except KbError as exc:
        st.error(str(exc))
        st.stop()


def embedder(settings: Settings) -> Embedder:
    """The embedding model, loaded once per server (about 10 s, with a spinner the first time)."""
    return _load_embedder(settings)


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


def passage_card(passage: Passage, heading: str, caption: str = "") -> None:
    """A passage in a bordered card: its place, its text, and links to read it in context and
    to open the official text there."""
    with st.container(border=True):
        st.markdown(f"**{as_text(heading)}**")
        if caption:
            st.caption(as_text(caption))
        st.markdown(as_text(passage.text))
        place_links(passage)


def place_links(passage: Passage) -> None:
    """Links that open a passage on the Read page and, when it is on the web, the official text."""
    read, official, _ = st.columns([1, 1, 3])
    read.page_link(READ_PAGE, label="Read in context", icon=":material/menu_book:",
                   query_params=read_params(passage))
    if web_link(passage.url):
        official.link_button("Official text", passage.url, icon=":material/open_in_new:")


def document_label(documents: dict[str, dict]):
    """A format_func showing "title (id)" for document ids in select boxes."""
    def label(doc_id: str) -> str:
        title = (documents.get(doc_id) or {}).get("title") or doc_id
        return f"{title if len(title) <= 80 else title[:79] + '…'} ({doc_id})"
    return label


def sidebar(store: Store) -> None:
    """The corpus in one line and where it lives, on every page."""
    documents = store.catalogue.documents()
    passages = sum(doc["passages"] for doc in documents)
    st.sidebar.caption(f"{len(documents)} documents, {passages:,} passages  \n"
                       f"Data: {as_text(str(store.settings.home))}")
