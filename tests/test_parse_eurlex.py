"""The EUR-Lex parser on hand-written fixtures in both markups and on the real AI Act and GDPR."""

from __future__ import annotations

import re
import warnings
from collections import Counter

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parse import parse as parse_any
from ingest.parsers import eurlex
from kb.errors import ParseError
from kb.types import ParsedDocument, Section
from tests.conftest import FIXTURES, corpus_document, fetched_from_file, make_fetched

WORD = re.compile(r"\w+")


def node(document: ParsedDocument, locator: str) -> Section:
    """The node cited as `locator`."""
    found = [section for section in document.root.walk() if section.locator == locator]
    assert found, f"no node with locator {locator!r}"
    return found[0]


def of_kind(document: ParsedDocument, kind: str) -> list[Section]:
    return [section for section in document.root.walk() if section.kind == kind]


def subtree_text(section: Section) -> str:
    """Every heading and block of a node and its descendants."""
    return " ".join(text for part in section.walk() for text in [part.heading, *part.blocks])


def words(text: str) -> Counter:
    return Counter(word.lower() for word in WORD.findall(text))


def page_soup(fetched) -> BeautifulSoup:
    """The page as an independent reference, without footnote calls and footnotes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2016 page is XHTML read as HTML
        soup = BeautifulSoup(fetched.content, "lxml")
    for element in soup.select('a[href^="#ntr"], p.oj-note, p.note'):
        element.decompose()
    return soup


@pytest.fixture(scope="module")
def widget_act() -> ParsedDocument:
    """The 2024-markup fixture."""
    return eurlex.parse(fetched_from_file(FIXTURES / "eurlex_2024_min.html"))


@pytest.fixture(scope="module")
def gadget_regulation() -> ParsedDocument:
    """The 2016-markup fixture."""
    return eurlex.parse(fetched_from_file(FIXTURES / "eurlex_2016_min.html"))


@pytest.fixture(scope="module")
def ai_act_fetched(shared_corpus, manifest):
    return corpus_document(shared_corpus, manifest, "eu-ai-act")


@pytest.fixture(scope="module")
def gdpr_fetched(shared_corpus, manifest):
    return corpus_document(shared_corpus, manifest, "gdpr")


@pytest.fixture(scope="module")
def ai_act(ai_act_fetched) -> ParsedDocument:
    return eurlex.parse(ai_act_fetched)


@pytest.fixture(scope="module")
def gdpr(gdpr_fetched) -> ParsedDocument:
    return eurlex.parse(gdpr_fetched)


# --- hand-written fixtures: the 2024 markup ---------------------------------------------------

def test_title_comes_from_the_document_without_the_eea_note(widget_act):
    assert widget_act.title == ("REGULATION (EU) 2099/1 OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL "
                                "of 1 January 2099 on trustworthy widgets (Widget Act)")
    assert widget_act.parser == "eurlex"


def test_recitals_have_their_number_anchor_and_clean_text(widget_act):
    recitals = of_kind(widget_act, "recital")
    assert [(r.locator, r.heading, r.anchor) for r in recitals] == [
        ("Recital 1", "Recital 1", "rct_1"), ("Recital 2", "Recital 2", "rct_2")]
    assert recitals[0].blocks == ["Widgets should be safe and trustworthy."]
    # the footnote call "(2)" is dropped, typographic quotes are kept
    assert recitals[1].blocks == ["The ‘Widget Board’ established by Directive (EU) 2098/7 "
                                  "should advise the Commission."]


def test_nested_points_are_cited_like_the_official_journal(widget_act):
    paragraph = node(widget_act, "Article 3(1)")
    assert [child.locator for child in paragraph.children] == ["Article 3(1)(a)", "Article 3(1)(b)"]
    assert node(widget_act, "Article 3(1)(b)(ii)").blocks == ["(ii) the prevention of a terrorist attack;"]
    assert {n.anchor for n in node(widget_act, "Article 3").walk()} == {"art_3"}


def test_text_after_sub_points_and_points_stays_with_its_owner(widget_act):
    assert node(widget_act, "Article 3(1)(b)").blocks == [
        "(b) the use of widgets for remote identification, unless necessary for:",
        "provided that a court has authorised that use."]
    assert node(widget_act, "Article 3(1)").blocks == [
        "1. The following practices shall be prohibited:",
        "Point (b) of the first subparagraph is without prejudice to Article 9."]


def test_definitions_are_points_directly_under_the_article(widget_act):
    article = node(widget_act, "Article 2")
    assert article.blocks == ["For the purposes of this Regulation, the following definitions apply:"]
    assert [child.locator for child in article.children] == ["Article 2(1)", "Article 2(2)"]
    assert node(widget_act, "Article 2(1)").blocks == [
        "(1) ‘widget’ means a device that performs at least 10^3 operations;"]


def test_an_unnumbered_article_keeps_its_body_as_blocks(widget_act):
    article = node(widget_act, "Article 1")
    assert article.heading == "Article 1 Subject matter"
    assert article.blocks == ["This Regulation lays down rules on widgets."]
    assert article.children == []


def test_chapters_and_sections_contain_their_articles(widget_act):
    chapters = of_kind(widget_act, "chapter")
    assert [(c.heading, c.anchor, c.container) for c in chapters] == [
        ("Chapter I General provisions", "cpt_I", True),
        ("Chapter II Prohibited AI practices", "cpt_II", True)]
    section = chapters[1].children[0]
    assert (section.kind, section.heading, section.anchor) == ("section", "Section 1 Prohibitions", "cpt_II.sct_1")
    assert [a.locator for a in section.children] == ["Article 3"]


def test_annex_points_are_cited_within_their_section(widget_act):
    annex = node(widget_act, "Annex I")
    assert annex.heading == "Annex I High-risk widgets referred to in Article 3(1)"
    assert (annex.anchor, annex.blocks) == ("anx_I", ["High-risk widgets are the widgets listed below:"])
    assert [s.heading for s in annex.children] == ["Section A Household widgets", "Section B Industrial widgets"]
    assert node(widget_act, "Annex I, Section A, point 1(a)").blocks == [
        "(a) widgets that recognise emotions of cooks;"]
    # a three-column row and a dashed item that follows it
    assert node(widget_act, "Annex I, Section B, point 3").blocks == [
        "3. Factory widgets, in particular:", "— conveyor widgets,"]


def test_closing_formula_and_footnotes_stay_out_of_the_articles(widget_act):
    everything = subtree_text(widget_act.root)
    assert "OJ C 1" not in everything and "ELI:" not in everything
    assert "Done at Brussels" not in subtree_text(node(widget_act, "Article 3"))
    assert widget_act.root.children[-2].locator == "Closing formula"


# --- hand-written fixtures: the 2016 markup ---------------------------------------------------

def test_2016_markup_gives_the_same_shape(gadget_regulation):
    assert gadget_regulation.title.endswith("with regard to gadgets (Gadget Regulation)")
    assert [r.anchor for r in of_kind(gadget_regulation, "recital")] == ["rct_1", "rct_2"]
    assert node(gadget_regulation, "Recital 2").blocks == ["Directive 95/99/EC should be repealed."]
    assert [c.heading for c in of_kind(gadget_regulation, "chapter")] == [
        "Chapter I General provisions", "Chapter II Principles"]
    assert node(gadget_regulation, "Article 2").heading == "Article 2 Lawfulness of gadget processing"
    assert node(gadget_regulation, "Article 1(2)(a)").anchor == "art_1"


def test_2016_paragraphs_are_found_by_their_numbers(gadget_regulation):
    article = node(gadget_regulation, "Article 2")
    assert [p.locator for p in article.children] == ["Article 2(1)", "Article 2(2)", "Article 2(3)"]
    assert node(gadget_regulation, "Article 2(1)").blocks[1] == (
        "Point (b) of the first subparagraph shall not apply to public authorities.")
    assert node(gadget_regulation, "Article 2(1)(a)").blocks == [
        "(a) the data subject has given consent to the processing;"]
    section = of_kind(gadget_regulation, "section")[0]
    assert (section.anchor, [a.locator for a in section.children]) == ("cpt_II.sct_1", ["Article 2", "Article 3"])


def test_2016_annex_with_numbered_headings(gadget_regulation):
    annex = node(gadget_regulation, "Annex")
    assert annex.heading == "Annex Gadgets referred to in Article 2"
    assert node(gadget_regulation, "Annex, point 1").blocks == ["1. Pocket gadgets", "Gadgets that fit in a pocket."]
    assert node(gadget_regulation, "Annex, point 2(a)").blocks == ["(a) lamps;"]


# --- detection and errors ---------------------------------------------------------------------

def test_sniff_recognises_both_markups_and_nothing_else():
    for name in ("eurlex_2024_min.html", "eurlex_2016_min.html"):
        assert eurlex.sniff(fetched_from_file(FIXTURES / name))
    assert not eurlex.sniff(make_fetched(b"# A README\n\nSee the multi-article guide.\n"))
    assert not eurlex.sniff(make_fetched(b'<html><body><p class="multi-article">Hi</p></body></html>'))


def test_the_pipeline_detects_and_uses_this_parser():
    document = parse_any(fetched_from_file(FIXTURES / "eurlex_2016_min.html"))
    assert document.parser == "eurlex"
    assert node(document, "Article 2(1)(b)")


@pytest.mark.parametrize("content, message", [
    (b"", "the document is empty"),
    (bytes(range(256)) * 40, "no articles or recitals found"),
    (b"<html><body><h1>Widgets</h1><p>Nothing to see.</p></body></html>", "no articles or recitals found"),
    (b"<div>" * 50_000, "no articles or recitals found|nested too deeply"),
], ids=["empty", "binary garbage", "a page without an act", "absurdly nested"])
def test_unusable_pages_raise_a_parse_error_for_a_person(content, message):
    with pytest.raises(ParseError, match=message) as error:
        eurlex.parse(make_fetched(content, url="https://example.org/page"))
    assert str(error.value).startswith("https://example.org/page: ")


def test_a_truncated_page_is_refused_rather_than_half_read():
    html = (FIXTURES / "eurlex_2024_min.html").read_bytes()
    cut = html[: html.index(b'id="003.002"')]
    with pytest.raises(ParseError, match="stops in Article 3 without its closing formula"):
        eurlex.parse(make_fetched(cut, url="https://example.org/cut"))
    only_recitals = html[: html.index(b"HAVE ADOPTED")]
    with pytest.raises(ParseError, match="2 recitals but no articles"):
        eurlex.parse(make_fetched(only_recitals, url="https://example.org/cut"))


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000), noise=st.binary(max_size=64))
def test_damaged_pages_give_a_document_or_a_parse_error_never_a_crash(cut, noise):
    html = (FIXTURES / "eurlex_2024_min.html").read_bytes()
    cut %= len(html)
    try:
        document = eurlex.parse(make_fetched(html[:cut] + noise + html[cut:]))
    except ParseError:
        return
    assert of_kind(document, "article")


def test_undecodable_bytes_are_replaced_not_fatal():
    html = (FIXTURES / "eurlex_2016_min.html").read_bytes().replace(b"lamps;", b"lamps\xff\xfe;")
    assert node(eurlex.parse(make_fetched(html)), "Annex, point 2(a)").blocks == ["(a) lamps\ufffd\ufffd;"]


# --- the real AI Act (2024 markup) ------------------------------------------------------------

def test_ai_act_counts(ai_act):
    assert [a.locator for a in of_kind(ai_act, "article")] == [f"Article {n}" for n in range(1, 114)]
    assert [r.locator for r in of_kind(ai_act, "recital")] == [f"Recital {n}" for n in range(1, 181)]
    numerals = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII"]
    assert [a.anchor for a in of_kind(ai_act, "annex")] == [f"anx_{n}" for n in numerals]
    assert "(Artificial Intelligence Act)" in ai_act.title


def test_ai_act_article_5_1_f_bans_emotion_recognition_at_work(ai_act):
    point = node(ai_act, "Article 5(1)(f)")
    assert point.blocks[0].startswith("(f) the placing on the market")
    assert "infer emotions" in point.blocks[0] and "workplace" in point.blocks[0]
    assert node(ai_act, "Article 5(1)(h)(iii)").blocks[0].startswith("(iii) the localisation")
    assert node(ai_act, "Article 5").heading == "Article 5 Prohibited AI practices"


def test_ai_act_articles_sit_in_their_chapters_and_sections(ai_act):
    chapter_2 = next(c for c in of_kind(ai_act, "chapter") if c.anchor == "cpt_II")
    assert chapter_2.heading == "Chapter II Prohibited AI practices"
    assert [a.locator for a in chapter_2.children] == ["Article 5"]
    section = next(s for s in of_kind(ai_act, "section") if s.anchor == "cpt_III.sct_1")
    assert section.heading == "Section 1 Classification of AI systems as high-risk"
    assert [a.locator for a in section.children] == ["Article 6", "Article 7"]


def test_ai_act_annex_iii_lists_high_risk_areas(ai_act):
    annex = node(ai_act, "Annex III")
    assert annex.heading == "Annex III High-risk AI systems referred to in Article 6(2)"
    assert [p.locator for p in annex.children] == [f"Annex III, point {n}" for n in range(1, 9)]
    assert node(ai_act, "Annex III, point 1(c)").blocks == [
        "(c) AI systems intended to be used for emotion recognition."]
    assert node(ai_act, "Annex I, Section B, point 13").anchor == "anx_I"
    assert node(ai_act, "Annex VII, point 3.1(a)")


def test_ai_act_amending_articles_keep_the_quoted_text_as_text(ai_act):
    # Article 108 quotes paragraphs of another regulation ("‘3. ...") that must not become paragraphs
    article = node(ai_act, "Article 108")
    assert [p.kind for p in article.children] == ["point"] * 6
    assert node(ai_act, "Article 108(1)").blocks[1].startswith("‘3. Without prejudice to paragraph 2")


def test_ai_act_every_anchor_opens_an_element_of_the_page(ai_act, ai_act_fetched):
    ids = {element["id"] for element in page_soup(ai_act_fetched).find_all(id=True)}
    anchors = {section.anchor for section in ai_act.root.walk() if section.anchor}
    assert anchors - ids == set()


def test_ai_act_no_text_is_lost(ai_act, ai_act_fetched):
    by_id = {element["id"]: element for element in page_soup(ai_act_fetched).find_all(id=True)}
    for section in ai_act.root.walk():
        if section.kind in ("article", "annex"):
            expected, found = by_id[section.anchor].get_text(" "), subtree_text(section)
        elif section.kind == "recital":
            expected = by_id[section.anchor].get_text(" ")
            found = f"({section.locator.split()[1]}) " + " ".join(section.blocks)
        else:
            continue
        assert words(found) == words(expected), section.locator


# --- the real GDPR (2016 markup) --------------------------------------------------------------

def test_gdpr_counts(gdpr):
    assert [a.locator for a in of_kind(gdpr, "article")] == [f"Article {n}" for n in range(1, 100)]
    assert [r.anchor for r in of_kind(gdpr, "recital")] == [f"rct_{n}" for n in range(1, 174)]
    assert of_kind(gdpr, "annex") == []
    assert "(General Data Protection Regulation)" in gdpr.title


def test_gdpr_key_provisions(gdpr):
    assert node(gdpr, "Article 6(1)(a)").blocks == [
        "(a) the data subject has given consent to the processing of his or her personal data "
        "for one or more specific purposes;"]
    assert node(gdpr, "Article 22").heading.startswith("Article 22 Automated individual decision-making")
    assert node(gdpr, "Article 4(1)").blocks[0].startswith("(1) ‘personal data’ means any information")
    assert node(gdpr, "Article 4(16)(b)").anchor == "art_4"


def test_gdpr_articles_sit_in_their_chapters_and_sections(gdpr):
    chapter_1 = of_kind(gdpr, "chapter")[0]
    assert (chapter_1.heading, chapter_1.anchor) == ("Chapter I General provisions", "cpt_I")
    assert [a.locator for a in chapter_1.children] == ["Article 1", "Article 2", "Article 3", "Article 4"]
    section = next(s for s in of_kind(gdpr, "section") if s.anchor == "cpt_III.sct_2")
    assert [a.locator for a in section.children] == ["Article 13", "Article 14", "Article 15"]


def test_gdpr_no_article_text_is_lost(gdpr, gdpr_fetched):
    headings = page_soup(gdpr_fetched).select("p.ti-art")
    for heading in headings:
        texts = [heading.get_text(" ")]
        for sibling in heading.find_next_siblings():
            if sibling.name == "div" or set(sibling.get("class", [])) & {"ti-art", "ti-section-1"}:
                break
            texts.append(sibling.get_text(" "))
        article = node(gdpr, heading.get_text(" ", strip=True))
        assert words(subtree_text(article)) == words(" ".join(texts)), article.locator
