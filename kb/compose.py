"""Answers composed from the documents' structure, no model needed:

- the binding provision first (an article before a recital before guidance before commentary);
- a short legal unit quoted whole, and a list quoted as the list: when two points under one
  lead-in are quoted ("1. The following AI practices shall be prohibited:"), the lead-in and
  every point under it are;
- each cited provision with the date it applies from (or that it does not yet apply on the
  answer's date, or that its document was revoked or replaced);
- the definitions of the defined terms the quotes use, and the related provisions (what they
  refer to, the recitals that explain them, guidance that cites them), each as a citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from kb.catalogue import Catalogue
from kb.compose_terms import terms_in
from kb.references import parent_locators
from kb.search_links import is_aside
from kb.types import Answer, ApplicationDate, Citation, Definition, Passage

# How much a document binds: a law's provisions, then guidance on it, then everything else.
BINDING_TYPES = {"regulation", "directive", "decision", "executive_order", "memorandum", "convention",
                 "licence"}
GUIDANCE_TYPES = {"guidelines", "code_of_practice", "code_of_conduct", "recommendation", "framework",
                  "definition"}
WHOLE_UNIT_MAX_WORDS = 200  # a passage this short is quoted whole, not by its nearest clause
WHOLE_LIST_MAX_POINTS = 12  # a list this long is quoted whole when it is asked for
DEFINITIONS_MAX = 6
RELATED_PER_KIND = 3  # refers-to, explaining recitals, guidance citing it, acts outside the corpus
RELATED_QUOTE_CHARS = 240
_DIRECT_CHILD = r"\([^()]+\)$"


@dataclass
class Quote:
    """One line of a composed answer: verbatim words of a passage."""

    passage: Passage
    text: str


def authority(passage: Passage) -> int:
    """0 a provision of a binding text, 1 its annex, 2 a recital, 3 guidance, 4 anything else
    (an act's preamble, its title and citations, binds no one)."""
    doc_type = passage.metadata.get("doc_type", "")
    if doc_type in BINDING_TYPES:
        return {"recital": 2, "preamble": 4, "annex": 1}.get(passage.kind, 0)
    return 3 if doc_type in GUIDANCE_TYPES else 4


def whole_or_clause(passage: Passage, clause: str) -> str:
    """The whole passage when it is a short legal unit (a point with its exception), else the clause."""
    short = len(passage.text.split()) <= WHOLE_UNIT_MAX_WORDS
    return passage.text.strip() if short and authority(passage) <= 1 else clause


def compose_quotes(catalogue: Catalogue, quoted: list[tuple[Passage, str]],
                   lists_asked: frozenset[tuple[str, str]] = frozenset(), whole_lists: bool = True) -> list[Quote]:
    """The quotes of an extractive answer, binding first, each point under its lead-in.

    A list is quoted whole (its lead-in and every point) when two of its points are quoted, when
    the lead-in itself is ("1. The following AI practices shall be prohibited:" says nothing
    without its points), or when the question comes closer to the lead-in than to the point
    (`lists_asked`: it asks what the lead-in introduces); a single point otherwise gets its
    lead-in line, without which it does not say what it is a point of. Without `whole_lists`
    (the question wants a verdict, a date or a figure: kb/question_form.py) no list is quoted
    whole: the quoted points stand under their lead-in."""
    quotes = [Quote(passage, whole_or_clause(passage, clause)) for passage, clause in quoted]
    quotes.sort(key=lambda quote: authority(quote.passage))  # stable: retrieval order within a rank
    lists: dict[tuple[str, str], list[Quote]] = {}
    for quote in quotes:
        if parent := list_parent(quote.passage):
            lists.setdefault(parent, []).append(quote)
    composed: list[Quote] = []
    done: set[tuple[str, str]] = set()
    for quote in quotes:
        parent = list_parent(quote.passage)
        heads = lead_in_of_list(quote) if parent is None else None
        group = parent or heads
        if group is None:
            composed.append(quote)
        elif group not in done:
            done.add(group)
            members = lists.get(group, [])
            whole = whole_lists and (heads is not None or len(members) >= 2 or group in lists_asked)
            composed += (whole_list(catalogue, group, members) if whole
                         else under_lead_in(catalogue, group, members)) or [quote]
    if composed and all(authority(quote.passage) > 1 for quote in composed):
        composed = binding_behind(catalogue, composed, whole_lists) + composed
    unique: dict[tuple[str, str], Quote] = {}
    for quote in composed:
        unique.setdefault((quote.passage.passage_id, quote.text), quote)
    return list(unique.values())


def list_parent(passage: Passage) -> tuple[str, str] | None:
    """(doc_id, locator) of the provision whose lead-in introduces this point, if it is one."""
    # The first ancestor that is not the point itself in its other spelling ("Section 4.2(a)").
    chain = [locator for locator in parent_locators(passage.locator)
             if not locator.endswith(passage.locator.split(" ", 1)[-1])]
    if passage.kind == "point" and passage.context and chain:
        return passage.doc_id, chain[0]
    return None


def lead_in_of_list(quote: Quote) -> tuple[str, str] | None:
    """(doc_id, locator) when the quote is a binding provision's lead-in, words ending in a colon
    that introduce the points below ("The following AI practices shall be prohibited:")."""
    if authority(quote.passage) <= 1 and any(line.rstrip().endswith(":") for line in quote.text.splitlines()):
        return quote.passage.doc_id, quote.passage.locator
    return None


def list_points(catalogue: Catalogue, group: tuple[str, str]) -> tuple[Passage | None, list[Passage]]:
    """The passage at a list's own locator (its lead-in) and its direct points, in order."""
    doc_id, parent = group
    inside = catalogue.passages_inside(doc_id, parent)
    head = next((p for p in inside if p.locator == parent), None)
    points = [p for p in inside if p.kind == "point" and re.fullmatch(re.escape(parent) + _DIRECT_CHILD, p.locator)]
    return head, points


def lead_in_line(head: Passage | None, points: list[Passage], members: list[Quote]) -> list[Quote]:
    """The lead-in as a quote of the passage that holds it ([] when no passage holds it verbatim)."""
    lead_in = (members[0].passage.context if members else points[0].context if points else "").strip()
    if head is None or not lead_in:
        return []
    if lead_in.endswith(" …"):  # ingest clips a long lead-in; the passage holding it has it whole
        first_line = head.text.strip().split("\n", 1)[0]
        lead_in = first_line if first_line.startswith(lead_in[:-2]) else ""
    return [Quote(head, lead_in)] if lead_in and lead_in in head.text else []


def whole_list(catalogue: Catalogue, group: tuple[str, str], members: list[Quote]) -> list[Quote]:
    """A lead-in and all the points under it, in the document's order (the quoted points alone
    when it is no list, or one longer than WHOLE_LIST_MAX_POINTS: a catalogue, not a rule)."""
    head, points = list_points(catalogue, group)
    lead = lead_in_line(head, points, members)
    if not points or not lead or len(points) > WHOLE_LIST_MAX_POINTS:
        return lead + members if members else []
    chosen = {q.passage.passage_id: q for q in members}
    listed = [chosen.get(p.passage_id) or Quote(p, whole_or_clause(p, p.text)) for p in points]
    return lead + listed + after_the_points(lead[0])


def after_the_points(lead: Quote) -> list[Quote]:
    """The words of the list's provision that follow its points ("Point (h) of the first
    subparagraph is without prejudice to Article 9 ..."), when they are short: part of the unit."""
    rest = lead.passage.text.split(lead.text, 1)[1].strip()
    return [Quote(lead.passage, rest)] if rest and len(rest.split()) <= WHOLE_UNIT_MAX_WORDS else []


def under_lead_in(catalogue: Catalogue, group: tuple[str, str], members: list[Quote]) -> list[Quote]:
    """The quoted points of a list after its lead-in line."""
    head, points = list_points(catalogue, group)
    return lead_in_line(head, points, members) + members


def binding_behind(catalogue: Catalogue, quotes: list[Quote], whole_lists: bool = True) -> list[Quote]:
    """When only guidance or commentary came close to the question, the binding provision it
    cites (the guidelines on prohibited practices cite Article 5), quoted first: a list whole
    (unless `whole_lists` is off: then the provision's opening words)."""
    targets: list[str] = []
    for quote in quotes:
        for reference in catalogue.facts.refers_to(quote.passage.passage_id):
            if reference.target_passage_id and reference.target_passage_id not in targets:
                targets.append(reference.target_passage_id)
    found = catalogue.passages_by_id(targets)
    binding = [found[pid] for pid in targets if pid in found and authority(found[pid]) == 0]
    for passage in binding if whole_lists else []:
        listed = whole_list(catalogue, (passage.doc_id, passage.locator), [])
        if listed:
            return listed
    return [Quote(binding[0], whole_or_clause(binding[0], opening(binding[0].text)))] if binding else []


def applicability(found: ApplicationDate | None, status: tuple[str, str] | None, as_of: str) -> str:
    """"applies", "not yet applicable", "revoked"/"replaced", or "" when the date is unknown."""
    if status:
        return status[0]
    if found is None:
        return ""
    return "applies" if found.applies_from <= as_of else "not yet applicable"


def spoken_date(iso: str) -> str:
    """"2025-02-02" -> "2 February 2025"."""
    day = date.fromisoformat(iso)
    return f"{day.day} {day.strftime('%B')} {day.year}"


def date_note(citation: Citation, as_of: str) -> str:
    """What a reader must know about when the cited provision binds, for the answer line."""
    if citation.status in ("revoked", "replaced"):
        return ""  # the reference says so already: "…, Sec. 4.2 (revoked 2025-01-20)"
    if not citation.applies_from:
        return ""
    when = spoken_date(citation.applies_from)
    if citation.status == "not yet applicable":
        return f" (not yet applicable on {spoken_date(as_of)}: applies from {when})"
    return f" (applies from {when})"


def dated(catalogue: Catalogue, citations: list[Citation], as_of: str) -> list[Citation]:
    """The citations with their provision's date of application and status on `as_of`."""
    dates = catalogue.facts.applies_from([c.passage.passage_id for c in citations])
    statuses = catalogue.facts.status(sorted({c.passage.doc_id for c in citations}))
    return [replace(c, applies_from=found.applies_from if (found := dates.get(c.passage.passage_id)) else "",
                    applies_from_basis=found.basis if found else "",
                    status=applicability(found, statuses.get(c.passage.doc_id), as_of))
            for c in citations]


def extractive_answer(catalogue: Catalogue, quotes: list[Quote], as_of: str) -> tuple[list[str], list[Citation]]:
    """Answer lines ("Reference (applies from …): “quote” [n]") and their citations, numbered in
    reading order; a date is written where it changes from the line before."""
    citations = dated(catalogue, [Citation(n, q.passage, q.text) for n, q in enumerate(quotes, 1)], as_of)
    lines, previous = [], ""
    for citation in citations:
        note = date_note(citation, as_of)
        shown = note if note != previous else ""
        previous = note
        # One line per quote: a point's sub-points, on lines of their own in the passage, join it.
        words = " ".join(citation.quote.split())
        lines.append(f"{citation.reference()}{shown}: “{words}” [{citation.n}]")
    return lines, citations


def add_facts(catalogue: Catalogue, answer: Answer, as_of: str) -> None:
    """Fill in the answer's dates, definitions and related provisions from the catalogue."""
    answer.as_of = as_of
    if not answer.citations:
        return
    if not any(c.status or c.applies_from for c in answer.citations):
        answer.citations = dated(catalogue, answer.citations, as_of)
    cited = {c.passage.passage_id for c in answer.citations}
    first_n = max(c.n for c in answer.citations) + 1
    answer.definitions = definitions_used(catalogue, answer.citations, cited, first_n, answer.question)
    cited |= {c.passage.passage_id for c in answer.definitions}
    answer.related = related(catalogue, answer.citations, cited, first_n + len(answer.definitions), as_of)


def definitions_used(catalogue: Catalogue, citations: list[Citation], cited: set[str], first_n: int,
                     question: str = "") -> list[Citation]:
    """The definitions, in the cited documents, of the terms the question uses (first: what a
    person asked about), then of those each quote uses, in the quote's own document."""
    doc_ids = list(dict.fromkeys(c.passage.doc_id for c in citations))
    index = catalogue.facts.defined_terms(doc_ids)
    chosen: list[Definition] = []

    def choose(definition: Definition) -> None:
        if definition.passage_id not in cited and all(d.passage_id != definition.passage_id for d in chosen):
            chosen.append(definition)

    # The question's terms, each defined once: by the first cited document that defines it.
    for key in terms_in(question, set(index)):
        owner = next(doc_id for doc_id in doc_ids if any(d.passage_id.startswith(doc_id + ":") for d in index[key]))
        choose(next(d for d in index[key] if d.passage_id.startswith(owner + ":")))
    for citation in citations:
        prefix = citation.passage.doc_id + ":"
        own = {key for key, found in index.items() if any(d.passage_id.startswith(prefix) for d in found)}
        for key in terms_in(citation.quote, own):
            choose(next(d for d in index[key] if d.passage_id.startswith(prefix)))
    chosen = chosen[:DEFINITIONS_MAX]
    passages = catalogue.passages_by_id([d.passage_id for d in chosen])
    return [Citation(first_n + i, passages[d.passage_id], d.text)
            for i, d in enumerate([d for d in chosen if d.passage_id in passages])]


def related(catalogue: Catalogue, citations: list[Citation], cited: set[str], first_n: int,
            as_of: str) -> list[Citation]:
    """What the cited provisions refer to, the recitals that explain them, guidance citing them,
    and acts outside the corpus they name (with their EUR-Lex link); a footnote or bibliography
    entry that cites a provision is an aside, not a related provision."""
    binding = [c.passage.passage_id for c in citations if authority(c.passage) <= 1]
    refers, outside, guidance = [], [], []
    for passage_id in binding:
        for reference in catalogue.facts.refers_to(passage_id):
            if reference.target_passage_id:
                refers.append(reference.target_passage_id)
            elif reference.external_url:
                outside.append(external_passage(reference.words, reference.target_locator, reference.external_url))
        guidance += [r.passage_id for r in catalogue.facts.referred_by(passage_id)
                     if not r.passage_id.startswith(passage_id.split(":", 1)[0] + ":")]
    explaining = catalogue.explaining_recitals(binding)
    recitals = [r for pid in binding for r in explaining.get(pid, [])]
    candidates = catalogue.passages_by_id(list(dict.fromkeys(refers + recitals + guidance)))
    # A provision split into several passages (a long recital) is one related provision.
    taken = {(c.passage.doc_id, c.passage.locator) for c in citations}
    picked: list[Passage] = []
    for kind in (refers, recitals, guidance):
        fresh = []
        for pid in dict.fromkeys(kind):
            passage = candidates.get(pid)
            if (passage and pid not in cited and not is_aside(passage)
                    and (passage.doc_id, passage.locator) not in taken):
                taken.add((passage.doc_id, passage.locator))
                fresh.append(passage)
        picked += fresh[:RELATED_PER_KIND]
    found = [Citation(0, passage, opening(passage.text)) for passage in picked]
    unique_outside = list({p.url: p for p in outside}.values())[:RELATED_PER_KIND]
    found += [Citation(0, p, p.text) for p in unique_outside]
    found = dated(catalogue, found, as_of)
    return [replace(c, n=first_n + i) for i, c in enumerate(found)]


def external_passage(words: str, locator: str, url: str) -> Passage:
    """A stand-in passage for an act the knowledge base does not hold: its name and its link."""
    return Passage(passage_id="", doc_id="", title=words, locator="", url=url, text=words,
                   kind="external", metadata={"locator_in_act": locator})


def opening(text: str) -> str:
    """The first words of a passage, verbatim, cut at a word boundary."""
    text = text.strip()
    if len(text) <= RELATED_QUOTE_CHARS:
        return text
    return text[:RELATED_QUOTE_CHARS].rsplit(" ", 1)[0]
