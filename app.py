"""policy-kb in the browser: ask, search, read, manage and chart the corpus.

UI only: every page calls the KnowledgeBase (kb/api.py) that the `kb` command uses.
Run with `make run`, or `streamlit run app.py`. Settings come from KB_* variables as for `kb`.
"""

import streamlit as st

from ui.common import open_kb, sidebar

st.set_page_config(page_title="policy-kb", page_icon=":material/gavel:", layout="wide")

# The pages in menu order; the first is where the app opens. A page is one script in ui/.
PAGES = [
    st.Page("ui/ask.py", title="Ask", icon=":material/forum:", default=True),
    st.Page("ui/search.py", title="Search", icon=":material/search:"),
    st.Page("ui/read.py", title="Read", icon=":material/menu_book:"),
    st.Page("ui/corpus.py", title="Corpus", icon=":material/library_books:"),
    st.Page("ui/overview.py", title="Overview", icon=":material/bar_chart:"),
]

page = st.navigation(PAGES)
st.sidebar.markdown("**policy-kb**: AI policy you can search and cite")
sidebar(open_kb())
page.run()
