"""Dates of application: since when each provision of an act applies, read from the act itself.

An EU act ends with its schedule ("Entry into force and application"):
    It shall apply from 2 August 2026.
    However:
    (a) Chapters I and II shall apply from 2 February 2025;
    (b) Chapter III Section 4, Chapter V, ... and Article 78 shall apply from 2 August 2025,
        with the exception of Article 101;
    (c) Article 6(1) and the corresponding obligations in this Regulation shall apply from 2 August 2027.
Each clause becomes a rule over articles, sections or chapters; a passage takes the date of the
most specific rule that covers it (an article before its section before its chapter before the
act as a whole), a rule's exceptions falling through to the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kb.references import find_references
from kb.types import ApplicationDate, Passage

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
APPLICATION = re.compile(r"""
    (?P<scope>[^.;:\n]*?)\s*\bshall\ (?:apply|be\ applicable)\ from\s+
    (?P<day>\d{1,2})\s+(?P<month>[A-Z][a-z]+)\s+(?P<year>\d{4})
    (?P<tail>[^;.\n]*)
""", re.VERBOSE)
SCOPE_PIECE = re.compile(r"""^(?:(?P<kind>Chapters?|Articles?|Sections?)\s+)?
    (?P<label>[IVXLC]+|\d+[a-z]?(?:\(\d+\))?)(?:\s+Section\s+(?P<section>\d+))?$""", re.VERBOSE)
SCOPE_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
GENERAL_SCOPE = re.compile(r"^(?:it|this (?:regulation|directive|decision|act))$", re.IGNORECASE)
LINE_LABEL = re.compile(r"^\(?([a-z]|\d{1,3})[.)]\s")
CHAPTER = re.compile(r"^Chapter ([IVXLC]+)\b")
SECTION = re.compile(r"^Section (\d+)\b")
NOT_PROVISIONS = ("recital", "preamble")


@dataclass(frozen=True)
class Rule:
    """One clause of the schedule: a date and what it covers."""

    applies_from: str
    basis: str
    chapter: str = ""  # "III"
    section: str = ""  # "4" (within chapter)
    locator: str = ""  # "Article 78", "Article 6(1)"
    exceptions: tuple[str, ...] = ()

    @property
    def rank(self) -> int:
        """Specificity: a provision named beats a section, a section its chapter, a chapter the act."""
        return 3 if self.locator else 2 if self.section else 1 if self.chapter else 0


def application_dates(passages: list[Passage]) -> list[ApplicationDate]:
    """The date from which each provision's passage applies; [] for a document without a schedule."""
    rules = sorted(schedule(passages), key=lambda rule: -rule.rank)
    if not rules:
        return []
    dates = []
    for passage in passages:
        if passage.kind in NOT_PROVISIONS:
            continue
        rule = next((rule for rule in rules if covers(rule, passage)), None)
        if rule:
            dates.append(ApplicationDate(passage.passage_id, rule.applies_from, rule.basis))
    return dates


def schedule(passages: list[Passage]) -> list[Rule]:
    """The application clauses of the enacting terms, as rules."""
    rules = []
    for passage in passages:
        if passage.kind in NOT_PROVISIONS:
            continue
        for match in APPLICATION.finditer(passage.text):
            when = iso_date(match)
            if not when:
                continue
            basis = clause_locator(passage, match.start())
            exceptions = tuple(r.locator for r in find_references(match["tail"], {})
                               if "exception" in match["tail"] or "except" in match["tail"])
            rules += scope_rules(match["scope"], when, basis, exceptions)
    return rules


def scope_rules(scope: str, when: str, basis: str, exceptions: tuple[str, ...]) -> list[Rule]:
    """"Chapter III Section 4, Chapter V and Article 78" -> one rule per chapter, section or article."""
    scope = LINE_LABEL.sub("", scope.strip() + " ").strip()
    scope = re.sub(r"^(?:however|but)\s*,?\s*", "", scope, flags=re.IGNORECASE)
    if GENERAL_SCOPE.match(scope):
        return [Rule(when, basis)]
    rules, kind = [], ""
    for piece in SCOPE_SEPARATOR.split(scope):
        match = SCOPE_PIECE.match(piece.strip())
        if not match:
            continue  # "the corresponding obligations in this Regulation": nothing to point at
        kind = (match["kind"] or kind).rstrip("s").lower()
        if kind == "chapter":
            rules.append(Rule(when, basis, chapter=match["label"], section=match["section"] or "",
                              exceptions=exceptions))
        elif kind == "article":
            rules.append(Rule(when, basis, locator=f"Article {match['label']}", exceptions=exceptions))
    return rules


def covers(rule: Rule, passage: Passage) -> bool:
    """Whether a rule's scope holds the passage (and the passage is not one of its exceptions)."""
    if any(inside(passage.locator, locator) for locator in rule.exceptions):
        return False
    if rule.locator:
        return inside(passage.locator, rule.locator)
    chapter = next((m[1] for heading in passage.heading_path if (m := CHAPTER.match(heading))), "")
    section = next((m[1] for heading in passage.heading_path if (m := SECTION.match(heading))), "")
    return (not rule.chapter or rule.chapter == chapter) and (not rule.section or rule.section == section)


def inside(locator: str, container: str) -> bool:
    """"Article 6(1)(a)" is inside "Article 6(1)" and "Article 6", not inside "Article 60"."""
    return locator == container or locator.startswith((container + "(", container + ","))


def iso_date(match: re.Match) -> str:
    """"2 February 2025" as "2025-02-02" ("" when it is not a date)."""
    month = match["month"].lower()
    if month not in MONTHS:
        return ""
    try:
        return date(int(match["year"]), MONTHS.index(month) + 1, int(match["day"])).isoformat()
    except ValueError:
        return ""


def clause_locator(passage: Passage, position: int) -> str:
    """Where a clause sits: its line's label refines the passage locator ("Article 113(a)")."""
    line = passage.text[passage.text.rfind("\n", 0, position) + 1:]
    label = LINE_LABEL.match(line)
    if label and f"({label[1]})" not in passage.locator:
        return f"{passage.locator}({label[1]})"
    return passage.locator
