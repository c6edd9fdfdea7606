"""What kind of answer a question's form asks for: a verdict, a time, an amount, or open.

"Is it allowed …?" wants a verdict and the provision that decides it; "When do the obligations
… apply?" a date; "How much …?" a figure. Only an open question ("Which practices are banned?",
"What must providers do?") can ask for a whole list. Pure text handling, no model: the closed
classes are English function words, not the wording of any one question.
"""

from __future__ import annotations

import re

from kb.sentences import split_sentences

# A main clause that opens with one of these asks a yes/no question.
AUXILIARIES = frozenset({"is", "are", "am", "was", "were", "can", "could", "do", "does", "did", "must", "may",
                         "might", "shall", "should", "will", "would", "has", "have", "had"})
# "If someone makes a video, does it …?": the question starts after the subordinate clause.
SUBORDINATORS = frozenset({"if", "when", "where", "once", "after", "before", "whenever", "although", "though",
                           "while"})
# "When" asks for a date when it asks since when something applies; otherwise ("When does an
# organisation have to appoint a DPO?") it asks under which conditions, and those may be a list.
_TAKING_EFFECT = re.compile(r"\b(?:appl(?:y|ies|icable|ication)|start|starts|begin|begins|enter|enters|"
                            r"entry into force|in force|effect|effective)\b")
_TIME = re.compile(r"\b(?:what|which) (?:date|day|year)\b|\b(?:by|until|since|from) when\b|\bhow (?:long|soon)\b|"
                   r"\bdeadlines?\b")
_AMOUNT = re.compile(r"\bhow (?:much|many|old|high|large|big)\b")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

VERDICT, TIME, AMOUNT, OPEN = "verdict", "time", "amount", "open"


def main_clause(question: str) -> str:
    """The question proper, lower case: its last sentence that asks (the one ending in "?"),
    after any subordinate clause that opens it ("If …, does it …?" -> "does it …?")."""
    sentences = split_sentences(question) or [""]
    asking = [s for s in sentences if s.endswith("?")]
    clause = (asking or sentences)[-1].casefold().replace("’", "'")
    words = _WORD.findall(clause)
    if words and words[0] in SUBORDINATORS and "," in clause:
        after = clause.split(",", 1)[1].strip()
        if _WORD.findall(after)[:1] and _WORD.findall(after)[0] in AUXILIARIES:
            return after
    return clause


def answer_kind(question: str) -> str:
    """VERDICT (opens with an auxiliary: is, can, does, must …), TIME (when it applies, what date,
    how long, a deadline), AMOUNT (how much, how many) or OPEN (what, which, who, how, a list …)."""
    clause = main_clause(question)
    words = _WORD.findall(clause)
    if not words:
        return OPEN
    if words[0] in AUXILIARIES:
        return VERDICT
    if _TIME.search(clause) or (words[0] == "when" and _TAKING_EFFECT.search(clause)):
        return TIME
    if _AMOUNT.search(clause):
        return AMOUNT
    return OPEN


def may_ask_for_a_list(question: str) -> bool:
    """Whether the question's form lets its answer be a whole list: only an open question does."""
    return answer_kind(question) == OPEN
