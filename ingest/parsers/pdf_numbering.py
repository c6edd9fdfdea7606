"""The labels a policy or legal PDF numbers its parts with, and how one label follows another.

A label is read from the start of a paragraph or heading: "(17)", "27.", "Sec. 4.", "4.2",
"(a)", "(ii)", "a.", "A.", "a)", "Commitment 1", "Measure 1.3", "Appendix B", "GOVERN 1.1:",
"GV-1.1-001". Some text reads two ways ("(i)" is a letter after "(h)" and a roman numeral
otherwise; an OCR'd "11." may be "ii."); every reading is returned and the tree builder keeps
the one that continues the document's sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Divisions named by a word, with their rank: a division closes open divisions of equal or lower rank.
NAMED_RANK = {"Part": 0, "Annex": 0, "Appendix": 0, "Pillar": 0, "Chapter": 1, "Commitment": 1,
              "Section": 2, "Measure": 2}
FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")  # the NIST AI RMF's core functions
SECTION_STYLES = {"section", "dotted", "named", "function", "action"}

_ACTION = re.compile(r"^((?:GV|MP|MS|MG)-\d+\.\d+-\d{3})\b")
_FUNCTION = re.compile(rf"^({'|'.join(FUNCTIONS)}) (\d+(?:\.\d+)?)(?=[:.\s]|$)")
_NUMBER_WORDS = ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")
_NAMED = re.compile(rf"^({'|'.join(NAMED_RANK)})(?:\s+([A-Z]|[IVXLC]+|\d+(?:\.\d+)*|{'|'.join(_NUMBER_WORDS)})"
                    r"(?=[:.\s–—-]|$)|(?=:))")
_SEC = re.compile(r"^(Sec\.|Section|SECTION)\s+(\d{1,2})\.(?=\s|$)")
_DOTTED = re.compile(r"^([A-Z]\.\d{1,2}(?:\.\d{1,2})*|\d{1,2}(?:\.\d{1,2})+)\.?(?=\s|$)|^(\d{1,2})\.(?=\s+[A-Z])"
                     r"|^(\d{1,2})(?=\s+[A-Z][a-z])")  # "2 Capabilities": a chapter only when set as a heading
_PAREN = re.compile(r"^\(([a-z]{1,2}|[A-Z]|\d{1,3}|[ivxlc]{1,6})\)(?=\s|$)")
_DOT = re.compile(r"^([a-z]{1,2}|[A-Z]|\d{1,3}|[ivxlc]{1,6}|[1lIivx|]{2,5})\.\*?(?=\s|$)")  # "2.*" marks a reference
_CLOSE = re.compile(r"^([a-z]|[ivx]{1,5})\)(?=\s|$)")
_ROMAN_HEADING = re.compile(r"^([IVX]{1,5})\.(?=\s+[A-Z][a-z])")
_INITIAL = re.compile(r"\s+[A-Z][a-z]+,")
_ROMAN = re.compile(r"^(?=[ivxlc])m{0,3}(c[md]|d?c{0,3})(x[cl]|l?x{0,3})(i[xv]|v?i{0,3})$")
_OCR_ROMAN = str.maketrans({"1": "i", "l": "i", "I": "i", "|": "i"})
_UNIT_START = re.compile(r"^(\(\d{1,3}\)|\([a-z]{1,2}\)|\([A-Z]\)|\([ivx]{1,6}\)|[a-z]\.|[A-Z]\.|[ivx]{1,5}\.|"
                         r"[1lI]{2,3}\.|1v\.|v1\.|[a-z]\)|\d{1,3}\.|Sec\.\s+\d+\.|\d{1,2}(\.\d{1,2})+\.?|"
                         r"(GV|MP|MS|MG)-\d+\.\d+-\d{3}|(GOVERN|MAP|MEASURE|MANAGE) \d+(\.\d+)?:)\s")
_FINISHED = re.compile(r"([.:;!?][”’\"')\]]{0,2}|;\s*(and|or))$")


@dataclass(frozen=True)
class Label:
    """One reading of a label: its style, its value ("17", "4.2", "ii", "gg", "B") and where it ends."""

    style: str  # number, lower, upper, roman (with a form) or section, dotted, named, function, action
    value: str
    end: int
    form: str = ""  # how it is written: "paren" (a), "dot" a., "close" a)
    word: str = ""  # the word of a named label ("Sec.", "Measure", "GOVERN")
    ocr: bool = False  # read through OCR confusions ("11." as "ii."): only ever taken as a next number

    @property
    def key(self) -> tuple[str, str, str]:
        """Labels with the same key count in one sequence."""
        return (self.style, self.form, self.word if self.style in ("named", "function") else "")


def opens_unit(text: str, previous: str, set_apart: bool) -> bool:
    """Whether a line that starts with a label begins a new unit: the line before it ends a
    sentence, or the layout sets the line apart (it hangs out, or the line before stops short)."""
    return bool(_UNIT_START.match(text) and (set_apart or _FINISHED.search(previous)))


def read_labels(text: str) -> list[Label]:
    """Every reading of the label at the start of `text`, most specific first; [] when none."""
    text = text.lstrip()
    if match := _ACTION.match(text):
        return [Label("action", match.group(1), match.end())]
    if match := _FUNCTION.match(text):
        return [Label("function", match.group(2), match.end(), word=match.group(1))]
    if match := _SEC.match(text):
        return [Label("section", match.group(2), match.end(), word=match.group(1).title())]
    if match := _ROMAN_HEADING.match(text):  # "II. Elements of the definition": Section II
        return [Label("named", match.group(1), match.end(), word="Section"), *_simple(match.group(1), "dot",
                                                                                  match.end())]
    if match := _NAMED.match(text):
        value = match.group(2) or ""
        if value in _NUMBER_WORDS:  # "Part One" is Part 1
            value = str(_NUMBER_WORDS.index(value) + 1)
        return [Label("named", value, match.end(), word=match.group(1))]
    if match := _DOTTED.match(text):
        dotted = [Label("dotted", match.group(1) or match.group(2) or match.group(3), match.end())]
        return dotted + (_simple(match.group(2), "dot", match.end()) if match.group(2) else [])
    for pattern, form in ((_PAREN, "paren"), (_DOT, "dot"), (_CLOSE, "close")):
        if match := pattern.match(text):
            if form == "dot" and match.group(1).isupper() and _INITIAL.match(text, match.end()):
                return []  # "A. Gupta, M. Ott": an author's initial
            return _simple(match.group(1), form, match.end())
    return []


def _simple(raw: str, form: str, end: int) -> list[Label]:
    """Readings of a bare number, letter or roman numeral."""
    readings = []
    if raw.isdigit():
        readings.append(Label("number", raw, end, form))
    elif raw.isupper() and len(raw) == 1:
        readings.append(Label("upper", raw, end, form))
    elif raw.islower() and (len(raw) == 1 or raw == raw[0] * len(raw)):
        readings.append(Label("lower", raw, end, form))
    if _ROMAN.match(raw):
        readings.append(Label("roman", raw, end, form))
    elif form == "dot" and (not raw.isalpha() or not raw.islower()):  # a scan's "11." or "1v." for ii., iv.
        ocr = raw.translate(_OCR_ROMAN).lower()
        if ocr != "i" and _ROMAN.match(ocr):
            readings.append(Label("roman", ocr, end, form, ocr=True))
    return readings


def first_value(label: Label) -> bool:
    """Whether the label opens a new sequence: 1, a, A, i."""
    firsts = {"number": "1", "lower": "a", "upper": "A", "roman": "i"}
    return firsts.get(label.style) == label.value and not label.ocr


def follows(label: Label, previous: str) -> bool:
    """Whether `label` is the next value after `previous` in its style: 4 -> 5, h -> i, z -> aa, iv -> v."""
    if label.style in ("number", "section"):
        return label.value.isdigit() and previous.isdigit() and int(label.value) == int(previous) + 1
    if label.style in ("lower", "upper"):
        return _letter_number(label.value) == _letter_number(previous) + 1
    if label.style == "roman":
        return _roman_number(label.value) == _roman_number(previous) + 1
    if label.style in ("dotted", "named", "function"):
        head, _, last = label.value.rpartition(".")
        before_head, _, before_last = previous.rpartition(".")
        return head == before_head and last.isdigit() and before_last.isdigit() and int(last) == int(before_last) + 1
    return False


def child_of(value: str, parent: str) -> bool:
    """Whether a dotted value sits directly under another: "4.2" under "4", "A.2.1" under "A.2"."""
    return value.rpartition(".")[0] == parent


def _letter_number(value: str) -> int:
    """a=1 .. z=26, then aa=27, bb=28 (doubled letters, as in EO 14110's definitions)."""
    if not value or value != value[0] * len(value) or not value.isalpha():
        return -10
    return (len(value) - 1) * 26 + ord(value[0].lower()) - ord("a") + 1


def _roman_number(value: str) -> int:
    """The value of a lower-case roman numeral; -10 when it is not one."""
    if not _ROMAN.match(value):
        return -10
    digits = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    total = 0
    for char, after in zip(value, value[1:] + " ", strict=False):
        worth = digits[char]
        total += -worth if after != " " and digits[after] > worth else worth
    return total
