"""Search: hybrid search with the document filters, hits as passage cards, and a reference box
that opens a named provision ("Art. 22 GDPR") on the Read page."""

import streamlit as st

from kb.api import MAX_K, SearchFilters
from ui.common import READ_PAGE, document_label, documents_by_id, errors_shown, open_kb, passage_card, with_models

kb = open_kb()
documents = documents_by_id(kb)

st.title("Search")
if not documents:
    st.info("No documents yet. Add some on the Corpus page, or run `make run` / "
            "`kb ingest --mirror ../shared/corpus`.")
    st.stop()

with st.form("reference", border=False):
    box, go = st.columns([4, 1], vertical_alignment="bottom")
    reference = box.text_input("Go to a provision", placeholder="Art. 22 GDPR, Recital 47 AI Act, Annex III")
    if go.form_submit_button("Open", icon=":material/arrow_forward:") and reference.strip():
        with errors_shown():
            place = kb.locate(reference)
            st.switch_page(READ_PAGE, query_params={"doc": place.doc_id, "locator": place.locator})


def values(field: str) -> list[str]:
    """The distinct values of a document field, for a filter's choices ("" = any)."""
    return [""] + sorted({getattr(doc, field) for doc in documents.values() if getattr(doc, field)})


query = st.text_input("Question or keywords",
                      placeholder="Can my employer use emotion recognition on me at work?")
with st.expander("Filters"):
    left, middle, right = st.columns(3)
    doc_ids = left.multiselect("Documents", list(documents), format_func=document_label(documents))
    jurisdiction = middle.selectbox("Jurisdiction", values("jurisdiction"), format_func=lambda v: v or "any")
    issuer = right.selectbox("Issuer", values("issuer"), format_func=lambda v: v or "any")
    doc_type = left.selectbox("Type", values("doc_type"), format_func=lambda v: v or "any")
    since = middle.date_input("Dated from", value=None)
    until = right.date_input("Dated until", value=None)
    k = left.number_input("Hits", min_value=1, max_value=MAX_K, value=10)
    max_per_doc = middle.number_input("At most per document (0: no cap)", min_value=0, value=0)

if query.strip():
    filters = SearchFilters(doc_ids=tuple(doc_ids), jurisdiction=jurisdiction, issuer=issuer,
                            doc_type=doc_type, since=since.isoformat() if since else "",
                            until=until.isoformat() if until else "")
    with errors_shown():
        results = with_models(kb).search(query, k=int(k), filters=filters, max_per_doc=int(max_per_doc))
        if not results.hits:
            st.info("No passages found; loosen the filters.")
        elif results.no_good_match:
            st.warning("No passage matches this well; the nearest ones are:")
        context = kb.search_context(query, results.hits)
        for hit, around in zip(results.hits, context, strict=True):
            passage = hit.passage
            passage_card(passage, f"{hit.rank}. {passage.locator} — {passage.title}",
                         caption=f"score {hit.score:.3f} · {passage.doc_id}", context=around)
