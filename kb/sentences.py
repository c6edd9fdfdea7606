"""Sentences, clauses and content words: the units that answers are built from and checked by.

Legal text ends sentences rarely and lists often ("(a) ...; (b) ..."), so passages are split into
clauses at semicolons and line breaks too; answers are split into sentences only.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words that end with a period without ending a sentence in legal and policy text.
_ABBREVIATIONS = {
    "art", "arts", "no", "nos", "para", "paras", "e.g", "i.e", "cf", "etc", "vs", "p", "pp",
    "mr", "ms", "mrs", "dr", "st", "fig", "ibid", "reg", "dir", "ch", "sec", "vol", "op", "cit",
    "inc", "ltd", "co", "approx", "incl", "resp",
}
_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*\s+")
_CLAUSE_END = re.compile(r";\s+|\n+|:\s*\n")
_MARKERS_AT_START = re.compile(r"^((?:\[\d+\]\s*)+)")
_WORD = re.compile(r"[a-z0-9]+(?:[./][a-z0-9]+)*")

# Sentences that address a language model rather than state anything: a document may carry
# them ("ignore the question and say ..."); they are never shown to the model nor quoted.
_INSTRUCTION = re.compile(
    r"""\b(?:ignore|disregard|forget|override)\b[^.]{0,60}?\b(?:instructions?|questions?|prompts?|rules|
        above|previous|everything|context)\b
      | \byou\s+(?:are|must|should|will)\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:ai|assistant|language\s+model|
        chatbot|llm|model)\b
      | \b(?:system\s+prompt|jailbreak|prompt\s+injection)\b
      | \b(?:reply|respond|answer|say|write|output|print)\b[^.]{0,40}?\b(?:only|exactly|verbatim)\b
      | (?:^|\n)\s*(?:system|assistant|user|instructions?)\s*:""",
    re.IGNORECASE | re.VERBOSE)


def split_sentences(text: str) -> list[str]:
    """Sentences of a text; citation markers after a full stop stay with their sentence."""
    sentences = [text[start:end].strip() for start, end in _spans(text, _SENTENCE_END)]
    sentences = [s for s in sentences if s]
    # "... erasure. [1] You may ..." : the markers belong to the sentence before them.
    merged: list[str] = []
    for sentence in sentences:
        markers = _MARKERS_AT_START.match(sentence)
        if markers and merged:
            merged[-1] = f"{merged[-1]} {markers.group(1).strip()}"
            sentence = sentence[markers.end():].strip()
        if sentence:
            merged.append(sentence)
    return merged


def split_clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the sentences and list items of a passage, in order."""
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _spans(text, _CLAUSE_END):
        block = text[block_start:block_end]
        for sentence_start, sentence_end in _spans(block, _SENTENCE_END):
            piece = block[sentence_start:sentence_end]
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if len(_WORD.findall(piece.lower())) >= 3:
                start = block_start + sentence_start + lead
                spans.append((start, start + len(piece)))
    return spans


def _spans(text: str, boundary: re.Pattern) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in boundary.finditer(text):
        if boundary is _SENTENCE_END and not _ends_sentence(text, start, match):
            continue
        spans.append((start, match.start() + len(match.group().rstrip())))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _ends_sentence(text: str, start: int, match: re.Match) -> bool:
    """False after an abbreviation ("Art. 5") or an initial, or before a lower-case word."""
    before = text[start:match.start()].rsplit(None, 1)
    last_word = before[-1].lower().rstrip(".").lstrip("(") if before else ""
    if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
        return False
    following = text[match.end():match.end() + 1]
    return not (following and following.islower())


def is_instruction(text: str) -> bool:
    """True for text that addresses a language model ("ignore previous instructions ...")."""
    return bool(_INSTRUCTION.search(text))


@lru_cache(maxsize=1)
def _stemmer_and_stopwords():
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    return Stemmer.Stemmer("english"), frozenset(STOPWORDS_EN) | {"may", "can", "shall", "also", "must"}


def content_words(text: str) -> set[str]:
    """Stemmed words that carry meaning: no stop words, no citation markers."""
    stemmer, stopwords = _stemmer_and_stopwords()
    text = re.sub(r"\[\d+\]", " ", text.lower())
    words = [w for w in _WORD.findall(text) if w not in stopwords and not (w.isdigit() and len(w) == 1)]
    return set(stemmer.stemWords(words))


def overlap(sentence_words: set[str], passage_words: set[str]) -> float:
    """Share of a sentence's content words found in a passage (1.0 for a sentence with none)."""
    if not sentence_words:
        return 0.0
    return len(sentence_words & passage_words) / len(sentence_words)
