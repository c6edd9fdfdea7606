"""How the PDF parser reads labels and follows a document's numbering, on small inputs."""

from __future__ import annotations

from ingest.parsers.pdf_blocks import Item
from ingest.parsers.pdf_numbering import Label, follows, opens_unit, read_labels
from ingest.parsers.pdf_units import unit_tree


def readings(text: str) -> list[tuple[str, str, str]]:
    return [(label.style, label.value, label.word) for label in read_labels(text)]


def test_labels_people_cite():
    assert readings("(17) Deployers are") == [("number", "17", "")]
    assert readings("Sec. 4. Ensuring Safety.") == [("section", "4", "Sec.")]
    assert readings("4.2. Ensuring Safe and Reliable AI.")[0] == ("dotted", "4.2", "")
    assert readings("GOVERN 1.1: Legal and regulatory") == [("function", "1.1", "GOVERN")]
    assert readings("GV-1.1-001 Align GAI") == [("action", "GV-1.1-001", "")]
    assert readings("Measure 1.3 Identify") == [("named", "1.3", "Measure")]
    assert readings("Part Three: An innovative approach") == [("named", "3", "Part")]
    assert readings("A. Gupta, M. Ott") == []  # an author's initial
    assert readings("(ii) enabling") == [("lower", "ii", ""), ("roman", "ii", "")]
    assert ("roman", "iv", "") in readings("1v. use of AI")  # OCR of "iv."


def test_sequences():
    assert follows(Label("lower", "i", 0, "paren"), "h")
    assert follows(Label("lower", "aa", 0, "paren"), "z")
    assert follows(Label("roman", "v", 0, "paren"), "iv")
    assert follows(Label("dotted", "4.3", 0), "4.2")
    assert not follows(Label("dotted", "5.1", 0), "4.2")


def test_a_label_opens_a_unit_only_after_a_finished_sentence():
    assert opens_unit("(b) the second point", "the first point; and", set_apart=False)
    assert not opens_unit("(iii) of this section", "subsections 4.3(b)(ii) and", set_apart=False)
    assert opens_unit("(346) The threshold", "Characteristics of the threat", set_apart=True)


def para(text: str, page: int = 1) -> Item:
    return Item("para", text, page)


def test_points_nest_letters_then_romans_and_a_misread_first_numeral_is_corrected():
    items = [Item("heading", "Sec. 1. Scope.", 1, size=12, bold=True),
             para("(a) Covered agencies. The rules apply:"),
             para("1. to regulatory actions;"), para("11. to evaluations;", 2), para("111. to metrics."),
             para("(b) Covered AI. This memo covers AI.")]
    root = unit_tree(items)
    locators = [node.locator for node in root.walk() if node.locator]
    assert locators == ["Sec. 1", "Sec. 1(a)", "Sec. 1(a)(i)", "Sec. 1(a)(ii)", "Sec. 1(a)(iii)", "Sec. 1(b)"]
    pages = {node.locator: node.anchor for node in root.walk() if node.locator}
    assert pages["Sec. 1(a)(ii)"] == "page=2"


def test_a_cross_reference_at_a_line_start_is_text_not_a_point():
    root = unit_tree([Item("heading", "Sec. 1. Scope.", 1, size=12, bold=True),
                      para("(a) First rule."), para("(c) of this section applies to the first rule.")])
    assert [node.locator for node in root.walk() if node.locator] == ["Sec. 1", "Sec. 1(a)"]
    assert root.children[0].children[0].blocks[-1].startswith("(c) of this section")
