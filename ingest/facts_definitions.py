"""Definitions: the terms a document defines and the passage that defines each.

Legal texts write a definition as a quoted term followed by "means" (or "has the meaning"):
    (60) ‘deep fake’ means AI-generated or manipulated image, audio or video content ...
    (b) The term ‘‘artificial intelligence’’ or ‘‘AI’’ has the meaning set forth in 15 U.S.C. 9401(3)
    For the purposes of this Article, ‘widespread infringement’ means ...
Only a term at the start of a line (after its point label) or after "For the purposes of ...,"
counts: a quoted word in the middle of a sentence is a use, not a definition.
"""

from __future__ import annotations

import re

from kb.types import Definition, Passage

_QUOTED = r"(?:‘‘|“|‘|\"|'')(?P<{name}>[^‘’“”\"\n]{{1,80}}?)(?:’’|”|’|\"|'')"
_TERM = _QUOTED.format(name="term")
_MORE = _QUOTED.format(name="more")
DEFINITION = re.compile(rf"""
    (?:^|(?<=\n))\s*
    (?:\(?[0-9]{{1,3}}[a-z]?[.)]\s*|\([a-z]{{1,4}}\)\s*)?            # (60)  (b)  4.
    (?:For\ the\ purposes\ of\ [^,\n]{{1,80}},\s*)?                  # For the purposes of this Article,
    (?:(?:The|the|A|a)\ terms?\ )?                                   # The term
    {_TERM}
    (?P<others>(?:\s*(?:,|or|and|,\ or|,\ and)\s*{_MORE.replace('(?P<more>', '(?:')})*)
    (?P<qualifier>[^.;:\n‘“]{{0,80}}?)
    \s*(?:means|mean|has\ the\ meaning|have\ the\ meaning|shall\ mean|is\ defined\ as)\b
""", re.VERBOSE)
_OTHER_TERM = re.compile(_QUOTED.format(name="term"))


def find_definitions(passages: list[Passage]) -> list[Definition]:
    """Every definition in the passages, in document order (recitals explain, they never define)."""
    definitions = []
    for passage in passages:
        if passage.kind in ("recital", "preamble"):
            continue
        matches = list(DEFINITION.finditer(passage.text))
        if not matches:
            continue
        ends = [following.start() for following in matches[1:]] + [len(passage.text)]
        for match, end in zip(matches, ends, strict=True):
            # A definition runs to the next one: "means:" is followed by its points.
            words = passage.text[match.start():end].strip()
            terms = [match["term"], *(m["term"] for m in _OTHER_TERM.finditer(match["others"]))]
            definitions += [Definition(term=" ".join(term.split()), passage_id=passage.passage_id,
                                       locator=passage.locator, text=words)
                            for term in terms if term.strip()]
    return definitions
