"""Legal references in a question: "Art. 6 (1) lit. a GDPR" -> Article 6(1)(a) of document "gdpr".

Pure text handling, no I/O. Locators come out spelled the way passages spell them (see
ingest/parsers/eurlex_tree.py and the PDF parser), so search can look them up as they are:
EUR-Lex "Article 6(1)(a)", "Recital 47", "Annex III, point 4"; numbered paragraphs of guidelines
and white papers "paragraph 17"; sections "Section 3(b)(ii)" and the executive order's
"Sec. 4.2(a)(i)"; "Appendix I"; the GPAI code's "Commitment 1", "Measure 1.3", "Recital (a)";
NIST's "GOVERN 1.1" and "GV-1.1-001"; the OECD's "Principle 1.3" and "Recommendation 2.1".
`parent_locators` gives the fallbacks for a document whose passages are split more coarsely
than the question, or that spells a section the other way ("Sec." / "Section").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Reference:
    """One provision named in a query."""

    locator: str  # canonical locator as passages spell it: "Article 6(1)(a)", "Annex III, point 4"
    doc_id: str | None  # the document named in the query (through the aliases), else None
    span: tuple[int, int]  # where in the query the reference was found, without the document name


class _Mention(NamedTuple):
    """A document name in the query."""

    start: int
    end: int
    doc_id: str


class _Item(NamedTuple):
    """One provision while it is being read: its number and subdivisions, not yet a locator."""

    number: str  # "6", "4a", "III", "3"
    parts: list[tuple[str, str]]  # ("point", "1"), ("point", "a"), ("section", "Section A")
    start: int
    end: int


# Characters pasted from PDFs and web pages. Each becomes exactly one character, so spans found in
# the normalised text are spans of the query.
_SAME_LENGTH = str.maketrans({"\u2013": "-", "\u2014": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " "})

KEYWORD = re.compile(r"""\b(?:
    (?P<article>articles?|arts?) | (?P<recital>recitals?|recs?) | (?P<annex>annex(?:es)?)
  | (?P<paragraph>paragraphs?|paras?) | (?P<section>sections?|sects?) | (?P<sec>secs?)
  | (?P<appendix>appendix|appendices|appendixes) | (?P<commitment>commitments?) | (?P<measure>measures?)
  | (?P<principle>principles?) | (?P<recommendation>recommendations?) | (?P<function>govern|map|manage)
)(?![a-z])\.?\s*""", re.IGNORECASE | re.VERBOSE)
ARTICLE_NUMBER = re.compile(r"0*([1-9]\d{0,2}[a-z]?)(?![\w/])", re.IGNORECASE)
# The GPAI code letters its recitals: "Recital (a)".
RECITAL_NUMBER = re.compile(r"\(\s*(\d{1,3}|[a-z])\s*\)|(\d{1,3})(?![\w/])", re.IGNORECASE)
# Numbers of the other kinds; none may run on into a longer dotted number ("4.2" is not "4").
NOT_LONGER = r"(?![\w/]|\.\d)"
PLAIN_NUMBER = re.compile(r"\(\s*(\d{1,3})\s*\)|(\d{1,3})" + NOT_LONGER)  # paragraph 17, (17)
SECTION_NUMBER = re.compile(r"(\d{1,2}(?:\.\d{1,2}){0,3})" + NOT_LONGER)  # 3, 4.2, 3.1.2
DOTTED_NUMBER = re.compile(r"(\d{1,2}\.\d{1,2})" + NOT_LONGER)  # Measure 1.3, GOVERN 1.1, Principle 1.3
APPENDIX_LABEL = re.compile(r"(?=[a-z\d])([ivx]{1,4}|[a-z]|\d{1,2})(?![\w/])", re.IGNORECASE)
# NIST AI 600-1 action ids: "GV-1.1-001" (GOVERN 1.1), "MP-", "MS-", "MG-".
ACTION_ID = re.compile(r"(?<![\w-])(GV|MP|MS|MG)-(\d{1,2}\.\d{1,2})-(\d{3})(?![\w-])", re.IGNORECASE)
FUNCTIONS = {"GV": "GOVERN", "MP": "MAP", "MS": "MEASURE", "MG": "MANAGE"}
# "paragraph 1 of Article 6", "Section A of Annex I": a part of the provision that follows, which
# reads it as its prefix.
PART_OF_NEXT = re.compile(r"\s*,?\s*of\s+(?:the\s+)?(?:articles?|arts?|annex|recitals?|sections?|secs?)(?![a-z])",
                          re.IGNORECASE)
NESTED_KINDS = ("paragraph", "section", "sec")
EUR_LEX_KINDS = ("article", "recital", "annex")
# Annexes run to roman numeral 39 at most; a stricter numeral keeps words like "civil" out.
ANNEX_NUMBER = re.compile(r"(?=[ivx\d])(x{0,3}(?:ix|iv|v?i{0,3})|[1-9]\d?)(?![\w/])", re.IGNORECASE)
NUMBERS = {"article": ARTICLE_NUMBER, "recital": RECITAL_NUMBER, "annex": ANNEX_NUMBER, "paragraph": PLAIN_NUMBER,
           "section": SECTION_NUMBER, "sec": SECTION_NUMBER, "appendix": APPENDIX_LABEL,
           "commitment": PLAIN_NUMBER, "measure": DOTTED_NUMBER, "principle": DOTTED_NUMBER,
           "recommendation": DOTTED_NUMBER, "function": DOTTED_NUMBER}
LIST_SEPARATOR = re.compile(r"\s*(?:,\s*(?:(?:and|or)\s+)?|(?:and|or)\s+|&\s*)", re.IGNORECASE)
SUBDIVISION = re.compile(r"""
    \s*\(\s*(?P<bracketed>\d{1,3}[a-z]?|[a-z]{1,4})\s*\)                      # (1) (a) (iv)
  | \s*,?\s*(?:paragraph|para|par|point|pt|number|no|nr)(?![a-z])\.?\s*     # paragraph 1, point (a), No. 39
    (?:\(\s*(?P<named>\d{1,3}[a-z]?|[a-z]{1,4})\s*\)|(?P<number>\d{1,3}(?:\.\d{1,3})*[a-z]?)(?![\w/]))
  | \s*,?\s*(?:lit|letter)(?![a-z])\.?\s*\(?(?P<letter>[a-z])\)?(?!\w)     # lit. a
""", re.IGNORECASE | re.VERBOSE)
ANNEX_SECTION = re.compile(r"\s*,?\s*(?P<kind>section|part)\s+(?P<label>[a-z]|\d{1,2})(?!\w)", re.IGNORECASE)
# "point 4 of Annex III", "point (a) of paragraph 1 of Article 6": one "... of" right before a provision.
OF_PREFIX = re.compile(r"""
    \b(?P<kind>section|part|paragraph|para|point|number|no|lit|letter)(?![a-z])\.?\s*
    (?:\(\s*(?P<bracketed>\w{1,4})\s*\)|(?P<label>\d{1,3}(?:\.\d{1,3})*[a-z]?|[a-z])(?!\w))
    (?P<brackets>(?:\s*\(\s*\w{1,4}\s*\))*)
    \s+of\s+(?:the\s+)?$""", re.IGNORECASE | re.VERBOSE)
# One "... of" is short ("paragraph 12(a)(ii) of the "): searching back only this far keeps long
# pasted texts fast (searching the whole text before every provision is quadratic).
PREFIX_REACH = 60
BRACKET = re.compile(r"\(\s*(\w{1,4})\s*\)")
# Steps up a locator: "point 1(a)" -> "point 1" (but "point (a)" is one label), "point 3.1" -> "point 3".
LAST_BRACKET = re.compile(r"\S\([^()]*\)$")
DOTTED_POINT = re.compile(r", point \d+(?:\.\d+)+$")
# "Section 4.2" -> "Section 4", "GOVERN 1.1" is a subcategory of no stored parent; a GPAI measure
# belongs to the commitment of its first number ("Measure 1.3" -> "Commitment 1").
DOTTED_SECTION = re.compile(r"^(Section|Sec\.) \d+(?:\.\d+)+$")
MEASURE = re.compile(r"^Measure (\d+)\.\d+$")
OTHER_SPELLING = {"Sec. ": "Section ", "Section ": "Sec. "}
# Between a provision and the document name after it ("Article 5 of the AI Act", "Article 22 (GDPR)")
# or before it ("GDPR Art. 22", "the GDPR's Article 22").
ATTACHED_AFTER = re.compile(r"\s*[,(]?\s*(?:(?:of|in|under|from)\s+(?:the\s+)?)?", re.IGNORECASE)
ATTACHED_BEFORE = re.compile(r"\s*(?:['\u2019]s)?\s*[,:]?\s*")


def find_references(query: str, aliases: dict[str, str]) -> list[Reference]:
    """Provisions named in a query, in order of appearance."""
    text = query.translate(_SAME_LENGTH)
    mentions = document_mentions(text, aliases)
    references: list[Reference] = []
    floor = 0
    for keyword in KEYWORD.finditer(text):
        if keyword.start() < floor or any(m.start <= keyword.start() < m.end for m in mentions):
            continue
        kind = _kind(keyword)
        items = _read_group(text, keyword, kind, floor)
        if not items or (kind in NESTED_KINDS and PART_OF_NEXT.match(text, items[-1].end)):
            continue
        doc_id = _document_for(text, items[0].start, items[-1].end, mentions)
        name = keyword.group(keyword.lastgroup or "")
        references += [Reference(_locator(kind, item.number, item.parts, name), doc_id, (item.start, item.end))
                       for item in items]
        floor = items[-1].end
    for action in ACTION_ID.finditer(text):
        if not any(m.start <= action.start() < m.end for m in mentions):
            locator = f"{action[1].upper()}-{action[2]}-{action[3]}"
            doc_id = _document_for(text, action.start(), action.end(), mentions)
            references.append(Reference(locator, doc_id, action.span()))
    return sorted(references, key=lambda reference: reference.span)


def parent_locators(locator: str) -> list[str]:
    """The locator and its ancestors, most specific first: "Article 5(1)(f)", "Article 5(1)", "Article 5";
    a section is followed by its other spelling ("Sec. 4.2", "Section 4.2", "Sec. 4", "Section 4")."""
    chain = [locator]
    while parent := _parent(chain[-1]):
        chain.append(parent)
    spelled = []
    for current in chain:
        spelled.append(current)
        for spelling, other in OTHER_SPELLING.items():
            if current.startswith(spelling):
                spelled.append(other + current[len(spelling):])
    return spelled


def _parent(locator: str) -> str | None:
    """The locator one step up, or None at the top."""
    if LAST_BRACKET.search(locator):
        return locator[:locator.rindex("(")]
    if DOTTED_POINT.search(locator) or DOTTED_SECTION.match(locator):
        return locator[:locator.rindex(".")]
    if measure := MEASURE.match(locator):
        return f"Commitment {measure[1]}"
    if action := ACTION_ID.fullmatch(locator):
        return f"{FUNCTIONS[action[1]]} {action[2]}"
    if ", " in locator:
        return locator[:locator.rindex(", ")]
    return None


def document_mentions(text: str, aliases: dict[str, str]) -> list[_Mention]:
    """Every document name in the text, longest alias first, as whole words."""
    by_name = {" ".join(alias.casefold().split()): doc_id for alias, doc_id in aliases.items() if alias.strip()}
    if not by_name:
        return []
    names = sorted(by_name, key=len, reverse=True)
    pattern = "|".join(r"\s+".join(map(re.escape, name.split())) for name in names)
    return [_Mention(m.start(), m.end(), by_name[" ".join(m.group().casefold().split())])
            for m in re.finditer(rf"(?<!\w)(?:{pattern})(?!\w)", text, re.IGNORECASE)]


def _document_for(text: str, start: int, end: int, mentions: list[_Mention]) -> str | None:
    """The document a reference belongs to: one attached to it, else the nearest after, else before."""
    after = next((m for m in mentions if m.start >= end), None)
    before = next((m for m in reversed(mentions) if m.end <= start), None)
    if after and ATTACHED_AFTER.fullmatch(text, end, after.start):
        return after.doc_id
    if before and ATTACHED_BEFORE.fullmatch(text, before.end, start):
        return before.doc_id
    chosen = after or before
    return chosen.doc_id if chosen else None


def _kind(keyword: re.Match) -> str:
    """The kind of provision a keyword introduces; "MEASURE" in capitals is NIST's function, any other
    "Measure" a measure of the GPAI code."""
    kind = keyword.lastgroup or ""
    return "function" if kind == "measure" and keyword.group(kind) == "MEASURE" else kind


def _read_group(text: str, keyword: re.Match, kind: str, floor: int) -> list[_Item]:
    """The provisions after one keyword: "Arts. 5 and 6(1)" -> Article 5, Article 6(1)."""
    singular = kind in ("annex", "appendix") and not keyword.group(keyword.lastgroup or "").lower().endswith("s")
    lists_allowed = not singular  # "Annex III and I think"
    items: list[_Item] = []
    position = keyword.end()
    while item := (_read_sibling(text, position, items)
                   or (_read_item(text, position, kind) if lists_allowed or not items else None)):
        items.append(item)
        separator = LIST_SEPARATOR.match(text, item.end)
        if not separator:
            break
        position = separator.end()
    if len(items) == 1 and kind in EUR_LEX_KINDS:
        prefix_start, prefix_parts = _read_prefix(text, keyword.start(), floor, kind)
        return [items[0]._replace(parts=items[0].parts + prefix_parts, start=prefix_start)]
    return [items[0]._replace(start=keyword.start()), *items[1:]] if items else []


def _read_item(text: str, position: int, kind: str) -> _Item | None:
    """One number and its subdivisions at `position`: "6(1)(a)", "III, point 4"; None if not there."""
    number = NUMBERS[kind].match(text, position)
    if number is None:
        return None
    parts, end = [], number.end()
    while kind in ("article", "annex", "section", "sec"):
        section = ANNEX_SECTION.match(text, end) if kind == "annex" else None
        subdivision = section or SUBDIVISION.match(text, end)
        if subdivision is None or (kind in ("section", "sec") and not subdivision["bracketed"]):
            break  # a section's subdivisions are bracketed: "Section 3(b)(ii)"
        if section:
            parts.append(("section", f"{section['kind'].title()} {section['label'].upper()}"))
        elif _is_label(label := next(g for g in subdivision.groups() if g)):
            parts.append(("point", label.lower()))
        else:
            break
        end = subdivision.end()
    return _Item(number.group(number.lastindex or 0), parts, position, end)


def _read_sibling(text: str, position: int, items: list[_Item]) -> _Item | None:
    """A bare "(b)" after "Article 5(1)(a) and": the previous provision with its last label swapped."""
    bracket = BRACKET.match(text, position)
    if not items or not items[-1].parts or not bracket or not _is_label(bracket[1]):
        return None
    parts = [*items[-1].parts[:-1], ("point", bracket[1].lower())]
    return _Item(items[-1].number, parts, position, bracket.end())


def _read_prefix(text: str, start: int, floor: int, kind: str) -> tuple[int, list[tuple[str, str]]]:
    """Subdivisions written before the provision ("point (a) of paragraph 1 of"), parent first."""
    parts: list[tuple[str, str]] = []
    while kind != "recital" and (prefix := OF_PREFIX.search(text, max(floor, start - PREFIX_REACH), start)):
        labels = [prefix["bracketed"] or prefix["label"], *BRACKET.findall(prefix["brackets"])]
        is_section = prefix["kind"].lower() in ("section", "part")
        if (is_section and kind == "article") or not all(map(_is_label, labels)):
            break
        if is_section:
            found = [("section", f"{prefix['kind'].title()} {labels[0].upper()}")]
        else:
            found = [("point", label.lower()) for label in labels]
        parts, start = parts + found, prefix.start()
    return start, parts


def _locator(kind: str, number: str, parts: list[tuple[str, str]], name: str = "") -> str:
    """The canonical locator: "Article 6(1)(a)", "Recital 47", "Annex I, Section A, point 1(a)",
    "Sec. 4.2(a)(i)", "paragraph 17", "Measure 1.3", "GOVERN 1.1"."""
    brackets = "".join(f"({label})" for _, label in parts)
    simple = {"paragraph": f"paragraph {number.lstrip('0')}", "function": f"{name.upper()} {number}",
              "section": f"Section {number}{brackets}",
              "sec": f"Sec. {number}{brackets}", "appendix": f"Appendix {number.upper()}",
              "commitment": f"Commitment {number.lstrip('0')}", "measure": f"Measure {number}",
              "principle": f"Principle {number}", "recommendation": f"Recommendation {number}"}
    if kind in simple:
        return simple[kind]
    if kind == "recital":
        return f"Recital {int(number)}" if number.isdigit() else f"Recital ({number.lower()})"
    if kind == "article":
        return f"Article {number.lower()}" + "".join(f"({label})" for _, label in parts)
    locator, has_point = f"Annex {_roman(number)}", False
    for part_kind, label in parts:
        if part_kind == "section":
            locator += f", {label}"
        elif has_point:
            locator += f"({label})"
        else:
            locator += f", point {label}" if label[0].isdigit() else f", point ({label})"
            has_point = True
    return locator


def _is_label(label: str) -> bool:
    """Paragraph numbers, point letters "(a)", "(aa)" and roman sub-points "(iv)"; not "(EU)" or "(AI)"."""
    label = label.lower()
    return label[0].isdigit() or len(set(label)) == 1 or set(label) <= set("ivx")


def _roman(number: str) -> str:
    """Annex numbers as the Official Journal writes them: "3" -> "III"; roman input is upper-cased."""
    if not number.isdigit():
        return number.upper()
    value, numeral = int(number), ""
    for amount, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, value = divmod(value, amount)
        numeral += letters * count
    return numeral
