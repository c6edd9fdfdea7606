"""Document text in the app is escaped for Streamlit's Markdown, whose extensions CommonMark does
not know: `:red[...]` colours, `$...$` maths and `:icon:` names. A CommonMark renderer shows these
unchanged whether escaped or not, so their escaped source is what is asserted here."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from ui.common import as_text


@pytest.mark.parametrize("text, source", [
    (":red[alarm]", r"\:red\[alarm\]"),
    (":material/warning: now", r"\:material/warning\: now"),
    ("$x^2$ and $$E=mc^2$$", r"\$x\^2\$ and \$\$E\=mc\^2\$\$"),
    ("[here](javascript:alert(2))", r"\[here\]\(javascript\:alert\(2\)\)"),
    ("<javascript:alert(1)>", r"\<javascript\:alert\(1\)\>"),
    ("**now** _then_ `code` ~~gone~~", r"\*\*now\*\* \_then\_ \`code\` \~\~gone\~\~"),
])
def test_markup_in_document_text_is_escaped(text, source):
    assert as_text(text) == source


def test_escaped_text_renders_as_the_same_characters_without_links():
    text = "Click [here](javascript:alert(2)) or <https://example.org> :red[alarm] $x^2$ & more"
    html = MarkdownIt("commonmark").render(as_text(text))
    assert "<a " not in html and "href" not in html
    assert html == ("<p>Click [here](javascript:alert(2)) or &lt;https://example.org&gt; :red[alarm] $x^2$ "
                    "&amp; more</p>\n")


def test_line_breaks_are_kept_as_hard_breaks():
    assert as_text("first line\nsecond line") == "first line  \nsecond line"
