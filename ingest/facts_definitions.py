"""Definitions: the terms a document defines and the passage that defines each.

Legal texts write a definition as a quoted term followed by "means" (or "has the meaning"):
    (60) ‘deep fake’ means AI-generated or manipulated image, audio or video content ...
    (b) The term ‘‘artificial intelligence’’ or ‘‘AI’’ has the meaning set forth in 15 U.S.C. 9401(3)
    For the purposes of this Article, ‘widespread infringement’ means ...
Only a term at the start of a line (after its point label) or after "For the purposes of ...,"
counts: a quoted word in the middle of a sentence is a use, not a definition.

Memoranda, frameworks and guidelines write them in their own ways, each recognised where a
sentence starts, never inside one:
    Agency: The term “agency” has the meaning provided in 44 U.S.C. § 3502(1).    (OMB glossary)
    AI system: An AI system is a machine-based system that ...                   (OECD: the label repeated)
    “Confabulation” refers to a phenomenon in which GAI systems generate ...     (NIST: "refers to")
    In the context of the AI RMF, risk refers to the composite measure of ...
    (78) ‘Appreciable impairment’ refers to a substantially reduced ability ...  (Commission guidelines)
"""

from __future__ import annotations

import re

from kb.types import Definition, Passage

_QUOTED = r"(?:‘‘|“|‘|\"|'')(?P<{name}>[^‘’“”\"\n]{{1,80}}?)(?:’’|”|’|\"|'')"
_TERM = _QUOTED.format(name="term")
_MORE = _QUOTED.format(name="more")
_VERBS = r"(?:means|mean|has\ the\ meaning|have\ the\ meaning|shall\ mean|is\ defined\ as|refers?\ to)\b"
_LABEL = r"(?:\(?[0-9]{1,3}[a-z]?[.)]\s*|\([a-z]{1,4}\)\s*)?"  # (60)  (b)  4.
# Where a sentence starts: a line's start, or after a full stop (and a closing quote) and a space.
_SENTENCE_START = r"(?:^|(?<=\n)|(?<=[.!?]\ )|(?<=[.!?][”’)]\ ))"
_FOR_THE_PURPOSES = (r"(?:(?:For\ (?:the\ )?purposes?\ of|In\ the\ context\ of|In\ these\ guidelines)"
                     r"(?:\ [^,\n]{1,80})?,\s*)?")
DEFINITION = re.compile(rf"""
    {_SENTENCE_START}\s*
    {_LABEL}
    (?:[A-Z][\w’'()\-/ ]{{0,60}}:\ )?                               # Agency: (a glossary's label)
    {_FOR_THE_PURPOSES}                                            # For the purposes of this Article,
    (?:(?:The|the|A|a)\ (?:terms?|notion\ of|concept\ of)\ )?      # The term
    {_TERM}
    (?P<others>(?:\s*(?:,|or|and|,\ or|,\ and)\s*{_MORE.replace('(?P<more>', '(?:')})*)
    (?P<qualifier>[^.;:\n‘“]{{0,80}}?)
    \s*{_VERBS}
""", re.VERBOSE)
# An unquoted term at a sentence's start: "Risk tolerance refers to ...", "Robustness is defined as".
# Words of the term are letters only and the first is no pronoun or article ("This means that").
_NOT_A_TERM = r"(?!(?:This|That|These|Those|It|Its|Which|What|The|A|An|Such|Each|Both|Another)\b)"
PLAIN_DEFINITION = re.compile(rf"""
    {_SENTENCE_START}\s*{_LABEL}
    {_FOR_THE_PURPOSES}
    {_NOT_A_TERM}(?P<term>[A-Za-z][a-z-]+(?:\ [a-z][a-z-]+){{0,3}})
    \ (?:generally\ |typically\ )?(?:refers\ to|(?:is|are)\ defined(?:\ (?:by|in)\ [^.\n]{{1,60}}?)?\ as)\b
""", re.VERBOSE)
# "AI system: An AI system is a machine-based system ...": a glossary line that repeats its label.
LABELLED = re.compile(r"""
    (?:^|(?<=\n))(?P<term>[A-Z][\w’'\- ]{1,60}?):\s+(?:An?\s+|The\s+)?(?P=term)s?
    \s+(?:is|are|means|refers\ to)\b
""", re.VERBOSE)
_OTHER_TERM = re.compile(_QUOTED.format(name="term"))


def find_definitions(passages: list[Passage]) -> list[Definition]:
    """Every definition in the passages, in document order (recitals explain, they never define)."""
    definitions = []
    for passage in passages:
        if passage.kind in ("recital", "preamble"):
            continue
        definitions += definitions_in(passage)
    return definitions


def definitions_in(passage: Passage) -> list[Definition]:
    """The definitions one passage holds, each running to the next (or to the passage's end)."""
    text = passage.text
    found: dict[int, tuple[re.Match, list[str]]] = {}
    prose: set[int] = set()  # definitions in running text, not a legal text's numbered ones
    for match in DEFINITION.finditer(text):
        found[match.start()] = match, [match["term"], *(m["term"] for m in _OTHER_TERM.finditer(match["others"]))]
        if match.group(0).rstrip().endswith(("refers to", "refer to")):
            prose.add(match.start())
    for pattern in (PLAIN_DEFINITION, LABELLED):
        for match in pattern.finditer(text):
            if not any(start <= match.start() < other.end() for start, (other, _) in found.items()):
                found[match.start()] = match, [match["term"]]
                prose.add(match.start())
    if not found:
        return []
    starts = sorted(found)
    ends = starts[1:] + [len(text)]
    definitions = []
    for start, end in zip(starts, ends, strict=True):
        # A definition runs to the next one ("means:" is followed by its points); one in running
        # text ends with its paragraph, after which a framework's argument goes on.
        line_end = text.find("\n", start)
        if start in prose and line_end != -1 and not text[start:line_end].rstrip().endswith(":"):
            end = min(end, line_end)
        words = text[start:end].strip()
        definitions += [Definition(term=" ".join(term.split()), passage_id=passage.passage_id,
                                   locator=passage.locator, text=words)
                        for term in found[start][1] if term.strip()]
    return definitions
