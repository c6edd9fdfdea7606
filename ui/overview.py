"""Overview: the corpus in charts: documents by jurisdiction, issuer, type and year, passages
per document, and a timeline of when each document's provisions apply (or stopped applying)."""

import altair as alt
import pandas as pd
import streamlit as st

from ui.common import open_kb

kb = open_kb()
documents = pd.DataFrame([document.to_json() for document in kb.documents()])

st.title("Overview")
if documents.empty:
    st.info("No documents yet. Add some on the Corpus page.")
    st.stop()

documents = documents.fillna("").replace("", "unknown")
documents["year"] = documents["date"].str[:4].where(documents["date"] != "unknown", "unknown")
left, middle, right = st.columns(3)
left.metric("Documents", len(documents))
middle.metric("Passages", f"{int(documents['passages'].sum()):,}")
right.metric("Jurisdictions", documents["jurisdiction"].nunique())


def count_chart(column, field: str, title: str, horizontal: bool = False) -> None:
    """A bar chart of how many documents have each value of `field`."""
    counts = documents.groupby(field).size().rename("documents").reset_index()
    column.subheader(title)
    column.bar_chart(counts, x=field, y="documents", horizontal=horizontal, x_label="", y_label="documents")


first, second = st.columns(2)
count_chart(first, "jurisdiction", "By jurisdiction")
count_chart(second, "doc_type", "By type")
count_chart(first, "year", "By year")
count_chart(second, "issuer", "By issuer", horizontal=True)  # issuers have long names

st.subheader("Passages per document")
st.bar_chart(documents[["doc_id", "passages"]], x="doc_id", y="passages", horizontal=True,
             x_label="passages", y_label="", sort="-passages")


def timeline() -> pd.DataFrame:
    """One row per event: provisions starting to apply (by clause), a document revoked or replaced."""
    rows = [{"doc_id": stage.doc_id, "date": stage.applies_from, "event": "applies from",
             "basis": stage.basis, "passages": stage.passages} for stage in kb.application_stages()]
    for document in kb.documents():
        if document.status and document.status_date:
            rows.append({"doc_id": document.doc_id, "date": document.status_date, "event": document.status,
                         "basis": document.status_note or document.status_label, "passages": document.passages})
    return pd.DataFrame(rows, columns=["doc_id", "date", "event", "basis", "passages"])


st.subheader("When the provisions apply")
events = timeline()
if events.empty:
    st.caption("No dates of application are known for these documents.")
else:
    events["date"] = pd.to_datetime(events["date"])
    chart = alt.Chart(events).mark_point(filled=True).encode(
        x=alt.X("date:T", title=""), y=alt.Y("doc_id:N", title=""),
        color=alt.Color("event:N", title=""), size=alt.Size("passages:Q", title="passages"),
        tooltip=["doc_id", alt.Tooltip("date:T", format="%d %B %Y"), "event", "basis", "passages"])
    rules = alt.Chart(events).mark_rule(opacity=0.3).encode(x="min(date):T", x2="max(date):T", y="doc_id:N")
    st.altair_chart(rules + chart, width="stretch")
    st.dataframe(events.assign(date=events["date"].dt.date).sort_values(["date", "doc_id"]), hide_index=True,
                 column_config={"date": st.column_config.DateColumn("date", format="YYYY-MM-DD")})
