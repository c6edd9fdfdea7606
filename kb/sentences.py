"""Sentences, clauses and content words: the one place that knows where a sentence ends.

Ingest cuts a paragraph too long for one passage between sentences (split_document_sentences),
answers are split into sentences (split_sentences) and passages into the clauses that answers
quote and are checked against (split_clauses, evidence_clauses). All of them share one list of
abbreviations that do not end a sentence. Legal text ends sentences rarely and lists often
("(a) ...; (b) ..."), so document text also ends sentences at semicolons, and clauses end at
semicolons and line breaks; answers end sentences only at . ! ?
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words that end with a period without ending a sentence in legal and policy text.
ABBREVIATIONS = frozenset({
    "art", "arts", "no", "nos", "para", "paras", "e.g", "i.e", "cf", "etc", "vs", "p", "pp",
    "mr", "ms", "mrs", "dr", "st", "al", "fig", "ibid", "reg", "dir", "ch", "sec", "vol", "ed", "eds",
    "op", "cit", "inc", "ltd", "co", "approx", "incl", "resp", "u.s", "e.u",
})
_SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*\s+")
# In document text . ! ? ; end a sentence (optionally closed by quotes or brackets) when white
# space and a capital, digit, quote or bracket follow; CJK full stops end one anywhere.
_DOCUMENT_SENTENCE_END = re.compile(r"[.!?;][”’\"')\]]*\s+(?=[A-Z0-9“‘\"'(\[])|[。！？；]\s*")
# A bare list label ("2.", "(a)", "iv.") is never a sentence of its own.
_LABEL = re.compile(r"^(\(?[0-9ivxlcdmA-Za-z]{1,5}[.)]|[0-9]+(\.[0-9]+)*\.?)$")
MAX_CLAUSES = 12
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


def split_document_sentences(text: str) -> list[str]:
    """Sentences of document text, each with its own punctuation and closing quotes; for cutting
    a paragraph that is too long for one passage."""
    sentences, start = [], 0
    for boundary in _DOCUMENT_SENTENCE_END.finditer(text):
        candidate = text[start:boundary.end()].strip()
        last_word = candidate.rstrip("”’\"')]").rstrip(".!?;").rsplit(None, 1)[-1] if candidate else ""
        if is_abbreviation(last_word) or _LABEL.match(candidate):
            continue
        sentences.append(candidate)
        start = boundary.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def is_abbreviation(word: str) -> bool:
    """True for a word that ends with a period without ending a sentence ("Art", "(e.g")."""
    return word.lower().rstrip(".").lstrip("(") in ABBREVIATIONS


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
    if is_abbreviation(last_word) or (len(last_word) == 1 and last_word.isalpha()):
        return False
    following = text[match.end():match.end() + 1]
    return not (following and following.islower())


def is_instruction(text: str) -> bool:
    """True for text that addresses a language model ("ignore previous instructions ...")."""
    return bool(_INSTRUCTION.search(text))


def evidence_clauses(text: str) -> list[tuple[int, int]]:
    """The spans of a passage that claims are checked against and quotes are taken from: its
    clauses, without instruction-like ones (passages are data), at most MAX_CLAUSES."""
    return [span for span in split_clauses(text) if not is_instruction(text[span[0]:span[1]])][:MAX_CLAUSES]


def clause_texts(passages) -> list[str]:
    """The evidence clauses of passages, and the lead-ins of their points, as text: what ingest
    embeds ahead of questions (answers compare a question with a point and with its lead-in)."""
    clauses = [passage.text[start:end] for passage in passages for start, end in evidence_clauses(passage.text)]
    return clauses + list(dict.fromkeys(passage.context.strip() for passage in passages
                                        if passage.kind == "point" and passage.context.strip()))


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
