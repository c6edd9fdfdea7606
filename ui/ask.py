"""Ask: a chat whose answers stream sentence by sentence, each sentence checked against the
passage it cites; citations as cards with the quote marked inside its passage. A file of
questions can be answered in one go (ui/question_list.py)."""

from datetime import date

import streamlit as st

from kb.api import BACKENDS, SearchFilters
from kb.types import Answer, Citation
from ui.common import (
    as_text,
    document_label,
    documents_by_id,
    errors_shown,
    open_kb,
    passage_card,
    place_links,
    status_warning,
    web_link,
    with_models,
)
from ui.question_list import question_list

MODES = {
    "generated": ("Written by the model; every sentence checked against its passage", ":material/verified:"),
    "extractive": ("Quoted from the passages (no model sentence could be verified, or no model)",
                   ":material/format_quote:"),
    "abstained": ("Not covered by the knowledge base", ":material/block:"),
}
BACKEND_LABELS = {"llama-cpp": "Local model (llama.cpp)", "openai": "Model server (OpenAI-compatible)",
                  "extractive": "No model: quote the passages"}

kb = open_kb()
documents = documents_by_id(kb)
settings = kb.settings

with st.sidebar:
    st.subheader("Answers")
    backend = st.selectbox("Written by", BACKENDS, index=BACKENDS.index(settings.llm_backend),
                           format_func=lambda name: BACKEND_LABELS.get(name, name))
    doc_ids = st.multiselect("Only these documents", list(documents), format_func=document_label(documents))
    jurisdictions = sorted({doc.jurisdiction for doc in documents.values() if doc.jurisdiction})
    jurisdiction = st.selectbox("Jurisdiction", [""] + jurisdictions, format_func=lambda v: v or "any")
    # The answer states the law of this day: a provision that applies only later is flagged.
    picked_day = st.date_input("Law as it stood on", value=date.today(), min_value=date(1950, 1, 1),
                          max_value=date(2100, 12, 31), format="YYYY-MM-DD")
    as_of = picked_day if isinstance(picked_day, date) else date.today()  # cleared: today
    if st.button("Clear the conversation", icon=":material/delete_sweep:"):
        st.session_state.chat = []

st.title("Ask")
st.caption("Answers come only from the documents in the knowledge base. Every sentence cites the "
           "passage that says so; sentences no passage supports are dropped.")
if not documents:
    st.info("No documents yet. Add some on the Corpus page, or run `make run`.")
    st.stop()
filters = SearchFilters(doc_ids=tuple(doc_ids), jurisdiction=jurisdiction)
question_list(kb, backend, filters, as_of)


def marked_passage(citation: Citation) -> str:
    """The passage as text, with the quoted words highlighted."""
    text = citation.passage.text
    start = text.find(citation.quote) if citation.quote else -1
    if start < 0:
        return as_text(text)
    end = start + len(citation.quote)
    return f"{as_text(text[:start])}:orange-background[{as_text(text[start:end])}]{as_text(text[end:])}"


def applies_line(citation: Citation, as_of: str) -> str:
    """Since when the cited provision applies, or that it did not yet on the answer's date
    ("" when the catalogue knows no date for it)."""
    if not citation.applies_from:
        return ""
    basis = f" ({citation.applies_from_basis})" if citation.applies_from_basis else ""
    if citation.status == "not yet applicable":
        return f"Not yet applicable on {as_of} (applies from {citation.applies_from}{basis})"
    return f"Applies from {citation.applies_from}{basis}"


def citation_card(citation: Citation, as_of: str) -> None:
    passage = citation.passage
    with st.container(border=True):
        st.markdown(f"**{as_text(f'[{citation.n}] {citation.reference()}')}**")
        status_warning(passage.status_label, passage.metadata.get("status_note", ""))
        if line := applies_line(citation, as_of):
            if citation.status == "not yet applicable":
                st.warning(as_text(line), icon=":material/event_upcoming:")
            else:
                st.caption(as_text(line))
        st.markdown(marked_passage(citation))
        line = f"{citation.reference()}, {passage.url}" if web_link(passage.url) else citation.reference()
        st.code(line, language=None, wrap_lines=True)  # the copy button gives a pasteable citation
        place_links(passage)


def fact_cards(title: str, citations: list[Citation]) -> None:
    """Definitions or related provisions of an answer, each a short card linking to its place."""
    if not citations:
        return
    st.markdown(f"**{title}**")
    for citation in citations:
        passage = citation.passage
        with st.container(border=True):
            st.markdown(f"**{as_text(citation.reference())}**")
            st.markdown(as_text(citation.quote or passage.text))
            place_links(passage)


def show_details(answer: Answer) -> None:
    """Mode, date, citations, definitions, related provisions and dropped sentences under an answer."""
    label, _icon = MODES[answer.mode]
    seconds = answer.timings_ms.get("total", 0) / 1000
    as_of = f" · law as it stood on {answer.as_of}" if answer.as_of else ""
    st.caption(f"{label} · {answer.backend} · {seconds:.1f} s{as_of}")
    if answer.mode == "abstained":
        st.markdown("**See also**")
        for hit in answer.see_also:
            passage_card(hit.passage, f"{hit.passage.locator} — {hit.passage.title}")
    for citation in answer.citations:
        citation_card(citation, answer.as_of)
    fact_cards("Definitions of the terms used", answer.definitions)
    fact_cards("Related provisions", answer.related)
    if answer.dropped_sentences:
        with st.expander(f"{len(answer.dropped_sentences)} sentence(s) dropped: no passage supports them",
                         icon=":material/content_cut:"):
            for dropped in answer.dropped_sentences:
                st.markdown(f"- {as_text(dropped['sentence'])}  \n  _{as_text(dropped['reason'])}_")


def show_answer(answer: Answer) -> None:
    if answer.mode == "abstained":
        st.info(as_text(answer.text), icon=":material/block:")
    else:
        st.markdown(as_text(answer.text))
    show_details(answer)


chat = st.session_state.setdefault("chat", [])
for question, answer in chat:
    st.chat_message("user").markdown(as_text(question))
    with st.chat_message("assistant"):
        show_answer(answer)

question = st.chat_input("Ask about AI policy, e.g. Which AI practices are banned in the EU?")
if question:
    st.chat_message("user").markdown(as_text(question))
    with st.chat_message("assistant"), errors_shown():
        with st.spinner("Finding passages (the first question also loads the models)…"):
            stream = with_models(kb).ask_stream(question, backend=backend, filters=filters,
                                                      as_of=as_of.isoformat())
            pieces = iter(stream)
            first = next(pieces, "")  # retrieval, and the first sentence that passed its check

        def verified_text():
            yield as_text(first)
            for piece in pieces:
                yield as_text(piece)

        st.write_stream(verified_text())
        answer = stream.answer
        assert answer is not None  # set when the stream ends
        show_details(answer)
        chat.append((question, answer))
