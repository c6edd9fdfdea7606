"""Overview: the corpus in charts: documents by jurisdiction, issuer, type and year, and
passages per document."""

import pandas as pd
import streamlit as st

from ui.common import open_kb

documents = pd.DataFrame([document.to_json() for document in open_kb().documents()])

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
