"""Citation checking: a sentence stays in an answer only if a passage it cites says so.

Each passage becomes `Evidence`: its clauses (sentences and list items, minus anything addressed
to a model), their embeddings and its content words. A sentence is supported by a passage when
enough of its content words occur in the passage (settings.support_overlap) AND its meaning is
close to one clause of it (settings.support_similarity); that clause is the citation's quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kb.embedding import Embedder
from kb.embedding_cache import EmbeddingCache
from kb.references import find_references
from kb.sentences import clause_texts, content_words, evidence_clauses, overlap
from kb.types import Hit, matches_locator

__all__ = ["Checked", "Evidence", "check_sentence", "clause_texts", "evidence_clauses", "prepare_evidence"]
_MARKER = re.compile(r"\s*\[(\d+)\]")


@dataclass
class Evidence:
    """One numbered passage, prepared for quoting and checking."""

    n: int
    hit: Hit
    clauses: list[tuple[int, int]]  # spans of passage.text
    vectors: np.ndarray  # one unit vector per clause
    words: set[str]  # content words of the clauses, the title and the heading path

    def clause(self, index: int) -> str:
        start, end = self.clauses[index]
        return self.hit.passage.text[start:end]


@dataclass
class Checked:
    """The verdict on one sentence."""

    sentence: str  # the sentence as shown: its claim followed by its verified markers
    supports: dict[int, str] = field(default_factory=dict)  # n -> quote
    reason: str = ""  # why it was dropped; "" when kept

    @property
    def kept(self) -> bool:
        return not self.reason


def prepare_evidence(hits: list[Hit], embedder: Embedder, extra_texts: Sequence[str] = (),
                     cache: EmbeddingCache | None = None) -> tuple[list[Evidence], np.ndarray]:
    """Evidence for each hit (numbered from 1), and the embeddings of extra_texts, in one batch.

    Clause vectors are taken from `cache` when ingest put them there; only the rest is encoded.
    """
    spans_per_hit = [evidence_clauses(hit.passage.text) for hit in hits]
    clauses = [hit.passage.text[start:end]
               for hit, spans in zip(hits, spans_per_hit, strict=False) for start, end in spans]
    known = cache.get(embedder.model_name, clauses) if cache and clauses else {}
    missing = list(dict.fromkeys(list(extra_texts) + [text for text in clauses if text not in known]))
    # One short text (the question, when ingest embedded the clauses) is fastest on one thread.
    fresh = ({missing[0]: embedder.embed_query(missing[0])} if len(missing) == 1
             else dict(zip(missing, embedder.embed(missing), strict=False)) if missing else {})
    texts = list(extra_texts) + clauses
    vectors = np.asarray([known.get(text) or fresh[text] for text in texts], dtype=np.float32)
    vectors = vectors.reshape(len(texts), -1)
    extra, offset = vectors[:len(extra_texts)], len(extra_texts)
    evidence = []
    for n, (hit, spans) in enumerate(zip(hits, spans_per_hit, strict=False), start=1):
        passage = hit.passage
        joined = " ".join(passage.text[start:end] for start, end in spans)
        words = content_words(" ".join([joined, passage.title, passage.locator, *passage.heading_path]))
        evidence.append(Evidence(n=n, hit=hit, clauses=spans, vectors=vectors[offset:offset + len(spans)],
                                 words=words))
        offset += len(spans)
    return evidence, extra


def check_sentence(sentence: str, evidence: list[Evidence], embedder: Embedder,
                   min_overlap: float, min_similarity: float) -> Checked:
    """Keep the sentence's citations that support it; say why when none does."""
    cited = [int(n) for n in _MARKER.findall(sentence)]
    claim = without_copied_reference(" ".join(_MARKER.sub("", sentence).split()), evidence)
    words = content_words(claim)
    if len(words) < 2:
        return Checked(claim, reason="makes no claim that can be checked")
    by_n = {item.n: item for item in evidence}
    unknown = [n for n in cited if n not in by_n]
    if cited and len(unknown) == len(cited):
        return Checked(claim, reason=f"cites [{unknown[0]}], which is not one of the passages")
    vector = np.asarray(embedder.embed([claim])[0], dtype=np.float32)
    candidates = [by_n[n] for n in dict.fromkeys(cited) if n in by_n] or evidence
    supports: dict[int, str] = {}
    best = (0.0, 0.0)
    for item in candidates:
        if not len(item.vectors):
            continue
        similarities = item.vectors @ vector
        index = int(similarities.argmax())
        share = overlap(words, item.words)
        best = max(best, (share, float(similarities[index])))
        if share >= min_overlap and similarities[index] >= min_similarity:
            supports[item.n] = item.clause(index)
    if not supports:
        which = "its cited passage does not say so" if cited else "no passage says so"
        return Checked(claim, reason=f"{which} (word overlap {best[0]:.2f}, similarity {best[1]:.2f})")
    misnamed = misnamed_provision(claim, [by_n[n] for n in supports])
    if misnamed:
        return Checked(claim, reason=misnamed)
    if not cited:
        # The checker found the source the model forgot to name; the sentence now cites it.
        supports = dict([max(supports.items(), key=lambda pair: overlap(words, by_n[pair[0]].words))])
    return Checked(with_markers(claim, list(supports)), supports=supports)


_LIST_LABEL = re.compile(r"^\(?(?:[a-z]{1,3}|[0-9]{1,3}|[ivxl]{1,6})\)\s+")


def without_copied_reference(claim: str, evidence: list[Evidence]) -> str:
    """The claim without a leading "(Regulation ..., Article 5(1))" copied from the prompt, nor a
    list label ("(b) ") copied from a passage, where it would name the wrong point."""
    for item in evidence:
        header = f"({item.hit.passage.reference()})"
        if claim.startswith(header):
            claim = claim[len(header):].strip()
            break
    return _LIST_LABEL.sub("", claim)


def misnamed_provision(claim: str, supporting: list[Evidence]) -> str:
    """Why the claim is wrong about where it comes from ("Article 6" from an Article 5 passage),
    or "" when every provision it names is one of its passages or mentioned in them."""
    for reference in find_references(claim, {}):
        for item in supporting:
            locator = item.hit.passage.locator
            if (matches_locator(locator, reference.locator) or matches_locator(reference.locator, locator)
                    or reference.locator.casefold() in item.hit.passage.text.casefold()):
                break
        else:
            where = ", ".join(item.hit.passage.locator for item in supporting)
            return f"names {reference.locator}, but its passage is {where}"
    return ""


def with_markers(claim: str, numbers: list[int]) -> str:
    """'Logs are kept six months [1].': markers before the final punctuation."""
    markers = "".join(f"[{n}]" for n in numbers)
    body = claim.rstrip()
    end = ""
    while body and body[-1] in ".!?":
        end, body = body[-1] + end, body[:-1]
    return f"{body.rstrip()} {markers}{end or '.'}"
