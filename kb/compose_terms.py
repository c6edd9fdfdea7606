"""The term index: one key for every spelling of a defined term, and the defined terms in a text.

"AI systems", "AI System" and "ai system" all have the key "ai system", so a definition of
‘AI system’ is found from any of them. Pure text handling: ingest keys the terms it stores,
answers look up the words they quote.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w’'-]+")
# Characters that spell the same thing in a term: curly apostrophes, non-breaking hyphens.
_SAME = str.maketrans({"’": "'", "‑": "-", "–": "-", "\u00a0": " "})
# Words whose final "s" is not a plural: they would lose it when plurals are folded.
_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ics")
MAX_TERM_WORDS = 8


def singular(word: str) -> str:
    """A plural English noun as its singular ("authorities" -> "authority"); others unchanged."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_NOT_PLURAL_ENDINGS):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    return word[:-1]


def term_key(term: str) -> str:
    """The key of a term in the index: case folded, spacing and quotes normalised, last word
    singular ("Deep Fakes" -> "deep fake")."""
    words = [word.strip("'-") for word in _WORD.findall(term.translate(_SAME).casefold())]
    words = [word for word in words if word]
    if not words:
        return ""
    return " ".join([*words[:-1], singular(words[-1])])


def terms_in(text: str, keys: set[str], longest: int = MAX_TERM_WORDS) -> list[str]:
    """The keys of `keys` that the text uses, in order of first use; a longer term wins over a
    shorter one inside it ("general-purpose AI model", not also "AI model" at the same words)."""
    words = [word.strip("'-") for word in _WORD.findall(text.translate(_SAME).casefold())]
    found: dict[str, None] = {}
    position = 0
    while position < len(words):
        for size in range(min(longest, len(words) - position), 0, -1):
            key = " ".join([*words[position:position + size - 1], singular(words[position + size - 1])])
            if key in keys:
                found.setdefault(key)
                position += size
                break
        else:
            position += 1
    return list(found)
