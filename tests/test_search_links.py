"""The provision behind the guidance: a matching guidance passage brings in the act provision it
cites, just above it; footnotes and bibliography entries are asides."""

import pytest

from kb.api import KnowledgeBase
from kb.evaluate import settings_applied
from kb.search import search
from kb.search_links import headed_provisions, is_aside
from kb.types import Passage
from tests.conftest import FIXTURES

# Guidance in everyday words, citing the act by its number the way the Commission's guidelines do.
GUIDANCE = """## 1

Monitoring staff moods. An employer may not use software that reads from their faces or voices how
workers feel while they are at the office: Article 3(1)(a) of Regulation (EU) 2099/1 prohibits it.

## 2

Employers should talk to their staff before they bring in any new monitoring software at the office.
"""
QUESTION = "Can my employer use software that reads how workers feel from their faces at the office?"


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder):
    home = tmp_path_factory.mktemp("links") / "kb-home"
    home.mkdir()
    registry = home / "sources.toml"
    registry.write_text("", encoding="utf-8")
    (home / "guidance.md").write_text(GUIDANCE, encoding="utf-8")
    with KnowledgeBase.open(home, embedder=embedder, sources_file=registry) as opened:
        opened.add(str(FIXTURES / "eurlex_2024_min.html"), doc_id="widget-act",
                   url="https://eur-lex.europa.eu/eli/reg/2099/1/oj", doc_type="regulation")
        opened.add(str(home / "guidance.md"), doc_id="widget-guidance", title="Guidance on the Widget Act",
                   doc_type="guidelines")
        yield opened


def places(results) -> list[str]:
    return [f"{hit.passage.doc_id} {hit.passage.locator}" for hit in results.hits]


def test_the_provision_a_matching_guidance_passage_cites_comes_just_above_it(kb, embedder):
    store = kb._store
    with settings_applied(store, citation_link_weight=0.0):
        plain = places(search(store, embedder, QUESTION, k=5))
    linked = places(search(store, embedder, QUESTION, k=5))
    article = "widget-act Article 3"  # the act's passage holding Article 3(1)(a)
    assert plain[0] == "widget-guidance 1"  # the paraphrase wins on words and meaning alone
    assert article not in plain[:2]
    assert linked[:2] == [article, "widget-guidance 1"]


def test_a_cited_provision_is_not_brought_in_from_a_document_the_filters_leave_out(kb):
    from kb.search import SearchFilters

    only_guidance = places(kb.search(QUESTION, k=5, filters=SearchFilters(doc_ids=("widget-guidance",))))
    assert only_guidance and all(place.startswith("widget-guidance ") for place in only_guidance)


def test_a_section_heading_naming_a_provision_of_another_document_links_its_passages():
    names = {"AI Act": "eu-ai-act", "GDPR": "gdpr"}

    def passage(doc_id: str, *headings: str) -> Passage:
        return Passage(passage_id=f"{doc_id}:p", doc_id=doc_id, title="", locator="paragraph 263", url="",
                       text="", heading_path=list(headings))

    under = passage("ec-guidelines", "7. ARTICLE 5(1)(F) AI ACT EMOTION RECOGNITION",
                    "7.2. Main concepts and components of the prohibition", "7.2.3. Exceptions")
    assert headed_provisions(under, names) == [("eu-ai-act", "Article 5(1)(f)")]
    nearest = passage("ec-guidelines", "3. ARTICLE 5(1)(A) AND (B) AI ACT",
                      "3.3. The prohibition in Article 5(1)(b) AI Act")
    assert headed_provisions(nearest, names) == [("eu-ai-act", "Article 5(1)(b)")]
    assert headed_provisions(passage("eu-ai-act", "Article 5 AI Act"), names) == []  # its own document
    assert headed_provisions(passage("ec-guidelines", "1. Background and objectives"), names) == []


def test_footnotes_and_bibliography_entries_are_asides_and_numbered_paragraphs_are_not():
    def passage(kind: str, locator: str, *headings: str) -> Passage:
        return Passage(passage_id="d:p", doc_id="d", title="", locator=locator, url="", text="", kind=kind,
                       heading_path=list(headings))

    assert is_aside(passage("footnote", "footnote 167"))
    assert is_aside(passage("point", "Reference 12"))
    assert is_aside(passage("page", "page 63", "Appendix B. References"))  # entries laid out in pages
    assert is_aside(passage("page", "page 9", "Bibliography"))
    assert not is_aside(passage("paragraph", "paragraph 12"))
    assert not is_aside(passage("point", "Article 5(1)(f)"))
    assert not is_aside(passage("section", "Section 3", "3. References to other acts"))
    assert not is_aside(passage("article", "Article 2", "Cross-references"))
