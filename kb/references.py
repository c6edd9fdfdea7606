"""Legal references in a question: "Art. 6 (1) lit. a GDPR" -> Article 6(1)(a) of document "gdpr".

Pure text handling, no I/O. Locators come out spelled the way passages spell them (see
ingest/parsers/eurlex_tree.py), so search can look them up as they are; `parent_locators` gives
the fallbacks for a document whose passages are split more coarsely than the question.
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

KEYWORD = re.compile(
    r"\b(?:(?P<article>articles?|arts?)|(?P<recital>recitals?|recs?)|(?P<annex>annex(?:es)?))(?![a-z])\.?\s*",
    re.IGNORECASE)
ARTICLE_NUMBER = re.compile(r"0*([1-9]\d{0,2}[a-z]?)(?![\w/])", re.IGNORECASE)
RECITAL_NUMBER = re.compile(r"\(\s*(\d{1,3})\s*\)|(\d{1,3})(?![\w/])")
# Annexes run to roman numeral 39 at most; a stricter numeral keeps words like "civil" out.
ANNEX_NUMBER = re.compile(r"(?=[ivx\d])(x{0,3}(?:ix|iv|v?i{0,3})|[1-9]\d?)(?![\w/])", re.IGNORECASE)
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
        items = _read_group(text, keyword, floor)
        if not items:
            continue
        kind = keyword.lastgroup
        doc_id = _document_for(text, items[0].start, items[-1].end, mentions)
        references += [Reference(_locator(kind, item.number, item.parts), doc_id, (item.start, item.end))
                       for item in items]
        floor = items[-1].end
    return references


def parent_locators(locator: str) -> list[str]:
    """The locator and its ancestors, most specific first: "Article 5(1)(f)", "Article 5(1)", "Article 5"."""
    chain = [locator]
    while True:
        current = chain[-1]
        if LAST_BRACKET.search(current):
            chain.append(current[:current.rindex("(")])
        elif DOTTED_POINT.search(current):
            chain.append(current[:current.rindex(".")])
        elif ", " in current:
            chain.append(current[:current.rindex(", ")])
        else:
            return chain


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


def _read_group(text: str, keyword: re.Match, floor: int) -> list[_Item]:
    """The provisions after one keyword: "Arts. 5 and 6(1)" -> Article 5, Article 6(1)."""
    kind = keyword.lastgroup
    lists_allowed = kind != "annex" or keyword.group(kind).lower().endswith("s")  # "Annex III and I think"
    items: list[_Item] = []
    position = keyword.end()
    while item := (_read_sibling(text, position, items)
                   or (_read_item(text, position, kind) if lists_allowed or not items else None)):
        items.append(item)
        separator = LIST_SEPARATOR.match(text, item.end)
        if not separator:
            break
        position = separator.end()
    if len(items) == 1:
        prefix_start, prefix_parts = _read_prefix(text, keyword.start(), floor, kind)
        return [items[0]._replace(parts=items[0].parts + prefix_parts, start=prefix_start)]
    return [items[0]._replace(start=keyword.start()), *items[1:]] if items else []


def _read_item(text: str, position: int, kind: str) -> _Item | None:
    """One number and its subdivisions at `position`: "6(1)(a)", "III, point 4"; None if not there."""
    number_pattern = {"article": ARTICLE_NUMBER, "recital": RECITAL_NUMBER, "annex": ANNEX_NUMBER}[kind]
    number = number_pattern.match(text, position)
    if number is None:
        return None
    parts, end = [], number.end()
    while kind != "recital":
        section = ANNEX_SECTION.match(text, end) if kind == "annex" else None
        subdivision = section or SUBDIVISION.match(text, end)
        if section:
            parts.append(("section", f"{section['kind'].title()} {section['label'].upper()}"))
        elif subdivision and _is_label(label := next(g for g in subdivision.groups() if g)):
            parts.append(("point", label.lower()))
        else:
            break
        end = subdivision.end()
    return _Item(number.group(number.lastindex), parts, position, end)


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


def _locator(kind: str, number: str, parts: list[tuple[str, str]]) -> str:
    """The canonical locator: "Article 6(1)(a)", "Recital 47", "Annex I, Section A, point 1(a)"."""
    if kind == "recital":
        return f"Recital {int(number)}"
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
