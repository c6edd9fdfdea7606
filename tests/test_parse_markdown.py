"""The Markdown parser: heading tree with GitHub anchors, clean blocks, embedded HTML reduced to text."""

from __future__ import annotations

import re

import pytest

from ingest.chunk import chunk
from ingest.parse import detect_parser, parse
from ingest.parsers import markdown
from ingest.parsers.common import SlugRegistry, github_slug
from kb.errors import ParseError
from kb.types import Source
from tests.conftest import FIXTURES, corpus_document, fetched_from_file, make_fetched

RAW_TAG = re.compile(r"</?(div|img|a|p|br|hr|b|table|tr|td|th|sup|picture|source|h\d)\b[^>]*>", re.I)


def headings(document) -> list[tuple[str, str]]:
    return [(node.locator, node.anchor) for node in document.root.walk() if node.kind == "heading"]


def node(document, locator: str, nth: int = 0):
    return [n for n in document.root.walk() if n.locator == locator][nth]


def all_blocks(document) -> list[str]:
    return [block for n in document.root.walk() for block in n.blocks]


@pytest.fixture(scope="module")
def structure():
    return parse(fetched_from_file(FIXTURES / "md_structure.md"))


def test_markdown_is_detected_by_type_name_or_headings():
    assert markdown.sniff(make_fetched(b"plain words", content_type="text/markdown"))
    assert markdown.sniff(make_fetched(b"plain words", filename="NOTES.markdown"))
    assert detect_parser(make_fetched(b"Intro\n\n## Section\n\nText\n")) == "markdown"
    page = b"<!doctype html><html><body><h1>x</h1>\n# not md</body></html>"
    assert detect_parser(make_fetched(page)) != "markdown"


def test_github_slugs():
    assert github_slug("5. Chat Website & API Platform") == "5-chat-website--api-platform"
    assert github_slug("Fair Use & Licensing (2024)!") == "fair-use--licensing-2024"
    assert github_slug("Привет non-latin 你好") == "привет-non-latin-你好"
    assert github_slug("😄 emoji") == "-emoji"
    slugs = SlugRegistry()
    assert [slugs.slug("foo"), slugs.slug("foo"), slugs.slug("foo-1"), slugs.slug("foo")] == [
        "foo", "foo-1", "foo-1-1", "foo-2"]


def test_heading_tree_title_and_duplicate_anchors(structure):
    assert structure.title == "Model Card: Example-7B"
    assert headings(structure) == [
        ("Model Card: Example-7B", "model-card-example-7b"),
        ("Usage", "usage"),
        ("Limitations", "limitations"),
        ("Usage", "usage-1"),
        ("Fair Use & Licensing (2024)!", "fair-use--licensing-2024"),
    ]
    second_usage = node(structure, "Usage", 1)
    assert [child.heading for child in second_usage.children] == ["Fair Use & Licensing (2024)!"]
    assert all(not n.container for n in structure.root.walk() if n.kind == "heading")


def test_code_block_is_kept_as_text_and_not_a_heading(structure):
    usage = node(structure, "Usage")
    assert usage.blocks[1].startswith("# this comment is code, not a heading\nfrom example import load")


def test_nested_list_and_table_rows(structure):
    limitations = node(structure, "Limitations")
    assert limitations.blocks[0] == (
        "- Hallucination: the model may state false facts with confidence.\n"
        "  - Mitigation: cite retrieved sources.\n"
        "  - Mitigation: keep a human in the loop.\n"
        "- Bias: outputs reflect the training data.")
    assert node(structure, "Usage", 1).blocks == ["Setting | Value\nTemperature | 0.6\nTop-p | 0.95"]
    assert node(structure, "Fair Use & Licensing (2024)!").blocks == [
        "1. Attribute the authors.\n2. Share changes under the same terms."]


def test_html_block_becomes_text_without_tags_or_images(structure):
    blocks = all_blocks(structure)
    assert "Important: do not use for medical advice." in blocks
    assert not any(RAW_TAG.search(block) for block in blocks)
    assert not any("Example logo" in block or "shields.io" in block for block in blocks)
    assert node(structure, "Model Card: Example-7B").blocks[0].endswith("released under the Apache-2.0 licence.")


def test_text_before_any_heading_is_the_introduction():
    document = parse(fetched_from_file(FIXTURES / "md_no_heading.md"))
    assert document.title == ""
    [intro] = document.root.children
    assert (intro.locator, intro.anchor, intro.heading) == ("Introduction", "", "")
    assert intro.blocks == ["This note has no headings at all. It is still worth indexing as one introduction.",
                            "A second paragraph follows here."]


def test_yaml_front_matter_is_not_text():
    document = parse(make_fetched(b"---\ntitle: Guide\nlayout: page\n---\n\n# Guide\n\nBody text.\n", filename="g.md"))
    assert [(n.locator, n.blocks) for n in document.root.walk() if n.kind != "document"] == [("Guide", ["Body text."])]


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"![badge](https://img.shields.io/x.svg)\n"])
def test_empty_markdown_is_a_parse_error(content):
    with pytest.raises(ParseError, match=re.escape("file:///empty.md")):
        parse(make_fetched(content, url="file:///empty.md", filename="empty.md"))


# --- real READMEs --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def readme(shared_corpus, manifest):
    return lambda doc_id: parse(corpus_document(shared_corpus, manifest, doc_id))


def test_deepseek_headings_and_html_tables(readme):
    document = readme("deepseek-r1")
    assert document.parser == "markdown" and document.title == "DeepSeek-R1"
    names = [locator for locator, _ in headings(document)]
    assert names[:3] == ["DeepSeek-R1", "1. Introduction", "2. Model Summary"]
    assert names[-3:] == ["7. License", "8. Citation", "9. Contact"]
    assert len(names) == 18 and "用户消息为：" not in " ".join(names)  # '#' lines in code are not headings
    assert ("5. Chat Website & API Platform", "5-chat-website--api-platform") in headings(document)
    assert ("DeepSeek-R1 Models", "deepseek-r1-models-1") in headings(document)
    blocks = all_blocks(document)
    assert not any(RAW_TAG.search(block) for block in blocks)
    table = node(document, "DeepSeek-R1-Evaluation").blocks
    assert any("| MMLU (Pass@1) | 88.3 | 87.2 | 88.5 | 85.2 | 91.8 | 90.8" in block for block in table)
    assert all(block.startswith("Category | Benchmark (Metric)") for block in table[1:])


def test_open_r1_nested_headings_and_emoji_slugs(readme):
    document = readme("open-r1")
    assert len(headings(document)) == 33
    interpreter = ("👨\u200d💻 Training with a code interpreter", "-training-with-a-code-interpreter")
    assert interpreter in headings(document)
    grpo = node(document, "GRPO")
    assert "GRPO dataset filtering" in [child.locator for child in grpo.children]
    install = node(document, "Installation")
    assert any("uv venv openr1 --python 3.11" in block for block in install.blocks)
    assert install.blocks[0].startswith("Caution: Libraries rely on CUDA 12.4.")  # a GitHub alert


def test_awesome_safety_tools_lists(readme):
    document = readme("roost-safety-tools")
    sections = [locator for locator, _ in headings(document)]
    assert sections[0] == "awesome-safety-tools" and "Red Teaming Datasets" in sections and len(sections) == 15
    guard = [block for block in node(document, "AI for Safety").blocks if block.startswith("Llama Guard by Meta")]
    assert guard == ["Llama Guard by Meta\n  - AI-powered content moderation model to detect harm in text-based "
                     "interactions"]


def test_roost_community_links_keep_their_text(readme):
    document = readme("roost-community")
    assert headings(document) == [("Welcome to the ROOST Community!", "welcome-to-the-roost-community"),
                                  ("Get Involved", "get-involved"),
                                  ("Contribute to this site", "contribute-to-this-site")]
    involved = node(document, "Get Involved").blocks
    assert "- File an issue to suggest ideas or tasks" in involved[1]
    assert "](" not in " ".join(all_blocks(document))


# --- policies and licences in Markdown -----------------------------------------------------------

@pytest.mark.parametrize("doc_id", ["llama-3-1-acceptable-use-policy", "llama-4-acceptable-use-policy"])
def test_bold_lines_are_the_headings_of_a_document_without_headings(readme, doc_id):
    document = readme(doc_id)
    version = "3.1" if "3-1" in doc_id else "4"
    assert document.title == f"Llama {version} Acceptable Use Policy"
    assert headings(document) == [(f"Llama {version} Acceptable Use Policy", ""), ("Prohibited Uses", "")]
    prohibited = node(document, "Prohibited Uses").blocks
    assert any("Violence or terrorism" in block for block in prohibited)
    assert any("LlamaUseReport@meta.com" in block for block in prohibited)


def test_bold_lines_stay_text_where_the_document_has_headings(readme):
    document = readme("deepseek-r1")
    assert "Distillation: Smaller Models Can Be Powerful Too" not in [loc for loc, _ in headings(document)]
    assert any(block.startswith("Distillation: Smaller Models") for block in node(document, "2. Model Summary").blocks)


def test_a_licence_in_markdown_is_cut_along_its_numbered_clauses(shared_corpus, manifest):
    licence = manifest["llama-3-1-community-license"]
    content = (shared_corpus / licence["file"]).read_bytes()
    document = parse(make_fetched(content, content_type="text/markdown", filename="LICENSE.md"))
    assert document.parser == "markdown"
    clauses = [n.locator for n in document.root.walk() if n.locator.startswith("Section")]
    assert clauses[:5] == ["Section 1", "Section 1(a)", "Section 1(b)", "Section 1(b)(i)", "Section 1(b)(ii)"]
    assert clauses[-4:] == ["Section 5(b)", "Section 5(c)", "Section 6", "Section 7"]
    assert node(document, "Section 2").heading == "2. Additional Commercial Terms"


def test_numbered_lists_under_headings_stay_lists():
    body = b"# Setup\n\n1. Install it.\n2. Run it.\n\n## Notes\n\n1. First note.\n2. Second note.\n"
    document = parse(make_fetched(body, content_type="text/markdown"))
    assert [loc for loc, _ in headings(document)] == ["Setup", "Notes"]
    assert not any(n.locator.startswith("Section") for n in document.root.walk())


# --- rulebooks: numbered headings that nest ----------------------------------------------------

RULEBOOK = b"""# 18. Conduct of Business

## 18.8 Client money

### 18.8.1

A firm must hold client money in a client account.

### 18.8.2

Client money must be kept apart from the firm's own money.

#### 18.8.2.(a)

Unless the client agreed otherwise in writing.
"""


def test_a_rulebook_is_cited_clause_by_clause_under_its_section_titles(embedder):
    document = parse(make_fetched(RULEBOOK, content_type="text/markdown"))
    assert [locator for locator, _ in headings(document)] == ["18.", "18.8", "18.8.1", "18.8.2", "18.8.2.(a)"]
    passages = chunk(document, Source(id="rules", title="Rules", canonical_url=""), embedder.count_tokens, 200)
    # each clause its own passage, although the whole section would fit one
    assert [(p.locator, p.heading_path[:2]) for p in passages] == [
        (locator, ["18. Conduct of Business", "18.8 Client money"])
        for locator in ("18.8.1", "18.8.2", "18.8.2.(a)")]
    assert passages[1].text == "Client money must be kept apart from the firm's own money."


def test_numbered_headings_that_do_not_nest_keep_their_text_and_their_sections_whole(embedder):
    body = b"# Guide\n\n## 1. Install\n\nRun pip.\n\n### From source\n\nClone it.\n\n## 2. Use\n\nCall it.\n"
    document = parse(make_fetched(body, content_type="text/markdown"))
    assert [locator for locator, _ in headings(document)] == ["Guide", "1. Install", "From source", "2. Use"]
    passages = chunk(document, Source(id="guide", title="Guide", canonical_url=""), embedder.count_tokens, 200)
    assert [p.locator for p in passages] == ["Guide"]  # a short guide is one passage, as before


def test_section_numbers_and_their_continuation():
    assert [markdown.section_number(text) for text in ("18.8 Client money", "2.1. Scope", "1.1.1.(1)",
                                                        "3.6A.3 Money", "2024 Releases", "3.2.Guidance")] == [
        "18.8", "2.1.", "1.1.1.(1)", "3.6A.3", "", ""]
    assert markdown.continues_number("18.8.2", "18.8") and markdown.continues_number("1.1", "1.")
    assert markdown.continues_number("Part 2.4.", "Part 2") and markdown.continues_number("3.2.Guidance", "3.2")
    assert not markdown.continues_number("10", "1") and not markdown.continues_number("Install from pip", "Install")
