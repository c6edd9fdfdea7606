"""Read: one document along its own structure, opened at a place.

The place is in the URL (`?doc=eu-ai-act&locator=Article%205`), so search hits and citations
link here and a reader can share what they are looking at.
"""

import streamlit as st

from kb.api import PassageLinks, matches_locator, part_at
from kb.types import CrossReference, Passage
from ui.common import (
    READ_PAGE,
    as_text,
    document_label,
    documents_by_id,
    errors_shown,
    open_kb,
    read_params,
    status_warning,
    web_link,
)

kb = open_kb()
documents = documents_by_id(kb)

st.title("Read")
if not documents:
    st.info("No documents yet. Add some on the Corpus page.")
    st.stop()


def go(doc_id: str, locator: str = "", part: int | None = None) -> None:
    """Point the URL at a place (a locator, or a part of the outline by number); the widgets
    below read their defaults from it."""
    params = {"doc": doc_id, "locator": locator, "part": "" if part is None else str(part)}
    st.query_params.from_dict({key: value for key, value in params.items() if value})


def read_link(passage: Passage, label: str) -> None:
    st.page_link(READ_PAGE, label=label, icon=":material/arrow_outward:", query_params=read_params(passage))


def reference_link(reference: CrossReference, passage_id: str, facts: PassageLinks, words: str) -> None:
    """A cross-reference as a link: to the Read page where the knowledge base holds the passage,
    else to the act's official text, else as words."""
    target = facts.passages.get(passage_id)
    if target is not None:
        read_link(target, f"{words} → {target.doc_id}, {target.locator}")
    elif web_link(reference.external_url):
        st.markdown(f"[{as_text(words)}]({reference.external_url}) (not in the knowledge base)")
    else:
        st.caption(as_text(f"{words} (not in the knowledge base)"))


def show_facts(passage: Passage) -> None:
    """Since when the passage applies, the defined terms it uses, what it refers to and what
    refers to it, each linked to its place."""
    facts = kb.passage_facts(passage.passage_id)
    if facts.applies_from:
        st.caption(as_text(f"Applies from {facts.applies_from.applies_from} ({facts.applies_from.basis})"))
    if facts.terms:
        st.markdown("**Defined terms used**")
        for definition in facts.terms:
            if defining := facts.passages.get(definition.passage_id):
                read_link(defining, f"‘{definition.term}’, defined in {definition.locator}")
    if facts.refers_to:
        st.markdown("**Refers to**")
        for reference in facts.refers_to:
            reference_link(reference, reference.target_passage_id, facts, reference.words)
    if facts.referred_by:
        st.markdown("**Referred to by**")
        for reference in facts.referred_by:
            source = facts.passages.get(reference.passage_id)
            if source is not None:
                read_link(source, f"{source.doc_id}, {source.locator}: “{reference.words}”")


ids = list(documents)
doc_id = st.query_params.get("doc", "")
if doc_id not in documents:
    if doc_id:
        st.error(f"no document with id '{doc_id}' (see `kb list`)")
    doc_id = ids[0]
chosen = st.selectbox("Document", ids, index=ids.index(doc_id), format_func=document_label(documents))
if chosen != doc_id:
    doc_id = chosen
    go(doc_id)

document = documents[doc_id]
parts = kb.outline(doc_id)
locator = st.query_params.get("locator", "")
number = st.query_params.get("part", "")
with errors_shown():
    if number.isdigit() and int(number) < len(parts):
        # A PDF page can start under one heading and end under the next: the number says which.
        part = parts[int(number)]
        here = [passage for passage in part.passages if locator and matches_locator(passage.locator, locator)]
    else:
        part, here = part_at(parts, locator) if locator else (parts[0], [])
    index = parts.index(part)
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    headings = [p.heading for p in parts]
    picked = left.selectbox(f"Part ({len(parts)} in this document)", range(len(parts)), index=index,
                            format_func=lambda i: headings[i])
    if picked != index:
        go(doc_id, part=picked)
        st.rerun()
    with right.form("jump", border=False):
        box, button = st.columns([3, 1], vertical_alignment="bottom")
        wanted = box.text_input("Go to a place", placeholder="Article 5(1), Recital 12, page 3")
        if button.form_submit_button("Go") and wanted.strip():
            part_at(parts, wanted.strip())  # an unknown place stops here with its message
            go(doc_id, wanted.strip())
            st.rerun()

    st.caption(as_text(f"{document.title} · {document.issuer or 'issuer unknown'} · "
                       f"{document.date or 'undated'}"))
    status_warning(document.status_label, document.status_note)
    st.subheader(as_text(part.heading))
    marked_ids = {passage.passage_id for passage in here}
    lead_in = ""
    for passage in part.passages:
        marked = passage.passage_id in marked_ids
        with st.container(border=marked):
            st.markdown(f"**{as_text(passage.locator)}**" + (" · you are here" if marked else ""))
            # The lead-in ("The following AI practices shall be prohibited:") once per run of points.
            if passage.context and passage.context != lead_in and passage.context not in passage.text:
                st.caption(as_text(passage.context))
            lead_in = passage.context
            st.markdown(as_text(passage.text))
            if marked and web_link(passage.url):
                st.link_button("Official text", passage.url, icon=":material/open_in_new:")
            if marked:
                show_facts(passage)

    previous, _, following = st.columns([1, 3, 1])
    if index > 0 and previous.button("Previous part", icon=":material/arrow_back:"):
        go(doc_id, part=index - 1)
        st.rerun()
    if index + 1 < len(parts) and following.button("Next part", icon=":material/arrow_forward:"):
        go(doc_id, part=index + 1)
        st.rerun()
