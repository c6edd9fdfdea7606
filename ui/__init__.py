"""The Streamlit app's pages (one script each) and what they share (common.py).

Not named `pages/`: Streamlit would treat such a folder as pages of its own.
"""
