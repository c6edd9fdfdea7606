"""Answers: retrieve, let a model write, keep only the sentences a cited passage supports.

    question -> search -> no good match?  -> abstained (nearest passages as "see also")
                       -> model backend   -> sentences verified one by one as they stream
                                             -> none survives -> extractive
                       -> extractive      -> the clauses nearest the question, quoted
                                             -> none is near  -> abstained

The model never has the last word: every sentence that reaches a user cites a passage that was
checked to say so (kb/verify.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from datetime import date

import numpy as np

from kb.compose import add_facts, compose_quotes, extractive_answer, list_parent
from kb.embedding import Embedder
from kb.embedding_cache import EmbeddingCache
from kb.errors import StoreError, UsageError
from kb.llm import load_model
from kb.prompt import STOP, build_prompt
from kb.question_form import may_ask_for_a_list
from kb.search import SearchFilters, matches_locator, search
from kb.sentences import content_words, overlap, split_sentences
from kb.store import Store
from kb.types import Answer, Citation, Hit
from kb.verify import Checked, Evidence, check_sentence, prepare_evidence

MAX_QUESTION_CHARS = 2000
EXTRACTIVE_QUOTES = 5
SEE_ALSO = 3
# A clause is quoted in an extractive answer only when it comes this close to the question.
EXTRACTIVE_MIN_SIMILARITY = 0.3

ABSTAIN_TEXT = ("The knowledge base does not cover this question: {why}. "
                "The nearest passages are listed under “see also”.")
NO_CLOSE_PASSAGE = "no passage answers it closely enough"
# Place names that a jurisdiction stands for: a question about "Europe" is answered by EU law.
JURISDICTION_NAMES = {
    "EU": ("Europe", "European", "Union"),
    "US": ("United States", "America", "American", "USA", "US"),
}
_TWO_LETTER_ACRONYM = re.compile(r"\b(?!EU\b|AI\b)[A-Z]{2}\b")


class AnswerStream:
    """Iterate for the answer's text as it is verified; `answer` holds the whole Answer after."""

    def __init__(self, steps: Generator[str, None, Answer]):
        self._steps = steps
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self._answer = yield from self._steps

    @property
    def answer(self) -> Answer:
        """The whole Answer, once its text has been iterated to the end."""
        if self._answer is None:
            raise RuntimeError("the answer is complete only after its text has been read to the end")
        return self._answer


def ask(store: Store, embedder: Embedder, question: str, *, backend: str | None = None,
        k: int | None = None, filters: SearchFilters | None = None,
        on_text: Callable[[str], None] | None = None, as_of: str | None = None) -> Answer:
    """Answer a question from the store; on_text receives verified text as it is ready.

    `as_of` (ISO date, default today) is the day the answer states the law for: a cited
    provision that applies only later is flagged with its date."""
    stream = ask_stream(store, embedder, question, backend=backend, k=k, filters=filters, as_of=as_of)
    for piece in stream:
        if on_text:
            on_text(piece)
    return stream.answer


def checked_question(question: str) -> str:
    """The question with its spacing normalised; a UsageError when it is empty or too long."""
    question = " ".join(question.split())
    if not question:
        raise UsageError("the question is empty; ask something like "
                         "\"Which AI practices are banned in the EU?\"")
    if len(question) > MAX_QUESTION_CHARS:
        raise UsageError(f"the question is {len(question):,} characters long; "
                         f"ask in at most {MAX_QUESTION_CHARS:,}")
    return question


def checked_date(as_of: str | None) -> str:
    """An ISO date (YYYY-MM-DD), today when None; a UsageError for anything else."""
    if as_of is None:
        return date.today().isoformat()
    try:
        return date.fromisoformat(as_of.strip()).isoformat()
    except ValueError:
        raise UsageError(f"'{as_of}' is not a date; give it as YYYY-MM-DD, e.g. 2025-02-02") from None


def ask_stream(store: Store, embedder: Embedder, question: str, *, backend: str | None = None,
               k: int | None = None, filters: SearchFilters | None = None,
               as_of: str | None = None) -> AnswerStream:
    """Like ask(), as a stream of verified text pieces (see AnswerStream)."""
    question = checked_question(question)
    as_of = checked_date(as_of)
    settings = store.settings
    backend = backend or settings.llm_backend
    model = load_model(settings, backend)  # fails early (bad backend or settings), before retrieval
    return AnswerStream(_answer(store, embedder, question, backend, model, k or settings.answer_k, filters,
                                as_of))


def _answer(store, embedder, question, backend, model, k, filters, as_of) -> Generator[str, None, Answer]:
    settings = store.settings
    started = time.perf_counter()
    results = search(store, embedder, question, k=k, filters=filters)
    timings = {"retrieve": _ms(started)}
    answer = Answer(question=question, text="", mode="abstained", backend=backend, timings_ms=timings)
    if results.no_good_match or not results.hits:
        yield from _abstain(answer, results.hits, NO_CLOSE_PASSAGE)
        return _finish(answer, started)
    names = results.names + _TWO_LETTER_ACRONYM.findall(question)
    missing = names_not_in(names, results.hits[:settings.answer_passages])
    if missing and not results.references:
        yield from _abstain(answer, results.hits, f"none of the nearest passages mentions {', '.join(missing)}")
        return _finish(answer, started)
    passing = names_in_passing(names, results.hits[:settings.answer_passages], question, embedder,
                               settings.name_mention_similarity)
    if passing and not results.references:
        yield from _abstain(answer, results.hits,
                            f"the nearest passages mention {', '.join(passing)} only in passing")
        return _finish(answer, started)

    verify_started = time.perf_counter()
    cache = clause_cache(settings)
    try:
        evidence, (question_vector,) = prepare_evidence(results.hits, embedder, [question], cache=cache)
    finally:
        if cache:
            cache.close()
    timings["verify"] = _ms(verify_started)
    checked = []
    if model is not None:
        excerpts = [(item.hit.passage.reference(), excerpt(item, question_vector, settings.passage_tokens_for_model))
                    for item in evidence[:settings.answer_passages]]
        checked = yield from _generate(model, build_prompt(question, excerpts), evidence, embedder,
                                       settings, answer)
        answer.dropped_sentences = [{"sentence": c.sentence, "reason": c.reason} for c in checked if not c.kept]
    kept = [c for c in checked if c.kept]
    if kept:
        answer.mode = "generated"
        # The model cites few passages: quote the other close ones too, so that the provision a
        # person needs is in the answer even when the model wrote about a neighbour.
        cited = {n for c in kept for n in c.supports}
        quotes = [q for q in extractive(evidence, question_vector, question, results.references)
                  if not set(q.supports) & cited]
        quotes = quotes[:max(0, EXTRACTIVE_QUOTES - len(cited))]
        for quote in quotes:
            yield "\n" + quote.sentence
        answer.text = " ".join(c.sentence for c in kept) + "".join("\n" + q.sentence for q in quotes)
        kept += quotes
        answer.citations = _citations(kept, evidence)
    else:
        extract_started = time.perf_counter()
        kept = extractive(evidence, question_vector, question, results.references)
        timings["extract"] = _ms(extract_started)
        if not kept:
            yield from _abstain(answer, results.hits, NO_CLOSE_PASSAGE)
            return _finish(answer, started)
        answer.mode = "extractive"
        compose_started = time.perf_counter()
        by_n = {item.n: item for item in evidence}
        quoted = [(by_n[n].hit.passage, clause) for c in kept for n, clause in c.supports.items()]
        # A verdict, a date or a figure is not a list: "When do providers' obligations apply?"
        # comes close to "Providers of high-risk AI systems shall:" yet wants none of its points.
        whole_lists = may_ask_for_a_list(question)
        asked: frozenset[tuple[str, str]] = frozenset()
        if whole_lists:
            cache = clause_cache(settings)
            try:
                asked = lists_asked([by_n[n] for c in kept for n in c.supports], question_vector, embedder, cache)
            finally:
                if cache:
                    cache.close()
        composed = compose_quotes(store.catalogue, quoted, asked, whole_lists)
        lines, answer.citations = extractive_answer(store.catalogue, composed, as_of)
        timings["compose"] = _ms(compose_started)
        for line in lines:
            yield line + "\n"
        answer.text = "\n".join(lines)
    compose_started = time.perf_counter()
    add_facts(store.catalogue, answer, as_of)
    timings["compose"] = timings.get("compose", 0.0) + _ms(compose_started)
    return _finish(answer, started)


def clause_cache(settings) -> EmbeddingCache | None:
    """The embedding cache, where ingest keeps the vectors of passage clauses (None if absent).

    Opened per answer: a connection is cheap, and none is shared between the app's threads.
    """
    if not settings.embedding_cache_path.is_file():
        return None
    try:
        return EmbeddingCache(settings.embedding_cache_path)
    except StoreError:  # an unreadable cache only costs encoding the clauses again
        return None


def lists_asked(quoted: list[Evidence], question_vector: np.ndarray, embedder: Embedder,
                cache: EmbeddingCache | None = None) -> frozenset[tuple[str, str]]:
    """The lists (doc_id, locator of the lead-in) whose lead-in comes closer to the question than
    any clause of a quoted point of theirs: "Which practices are banned?" asks what "The following
    AI practices shall be prohibited:" introduces, not one practice. Ingest caches lead-ins' vectors."""
    points = [item for item in quoted if len(item.vectors) and list_parent(item.hit.passage)]
    lead_ins = list(dict.fromkeys(item.hit.passage.context.strip() for item in points))
    if not lead_ins:
        return frozenset()
    vectors = cache.get(embedder.model_name, lead_ins) if cache else {}  # without a cache: encoded here
    vectors |= {text: embedder.embed_query(text) for text in lead_ins if text not in vectors}
    asked = set()
    for item in points:
        lead_in = np.asarray(vectors[item.hit.passage.context.strip()], dtype=np.float32)
        if float(lead_in @ question_vector) > float((item.vectors @ question_vector).max()):
            asked.add(list_parent(item.hit.passage))
    return frozenset(group for group in asked if group)


def _generate(model, prompt, evidence, embedder, settings, answer) -> Generator[str, None, list]:
    """Stream the model's text; check and pass on each sentence as soon as it is complete."""
    timings = answer.timings_ms
    started = time.perf_counter()
    checked, seen, text, done = [], set(), "", 0
    verify_seconds = 0.0

    def judge(sentence: str):
        nonlocal verify_seconds
        verify_started = time.perf_counter()
        verdict = check_sentence(sentence, evidence, embedder, settings.support_overlap,
                                 settings.support_similarity)
        key = " ".join(sorted(content_words(verdict.sentence)))
        if verdict.kept and key in seen:
            verdict.reason = "repeats an earlier sentence"
        seen.add(key)
        verify_seconds += time.perf_counter() - verify_started
        checked.append(verdict)
        return verdict

    for piece in model.stream(prompt, STOP):
        if "first_token" not in timings:
            timings["first_token"] = _ms(started)
        text += piece
        answer.generated_tokens += 1
        sentences = split_sentences(text)
        # The last sentence may still grow (and its [n] may still come): wait for the next one.
        for sentence in sentences[done:-1]:
            if judge(sentence).kept:
                yield checked[-1].sentence + " "
        done = max(done, len(sentences) - 1)
    for sentence in split_sentences(text)[done:]:
        if judge(sentence).kept:
            yield checked[-1].sentence + " "
    timings["generate"] = _ms(started) - verify_seconds * 1000
    timings["verify"] = timings.get("verify", 0.0) + verify_seconds * 1000
    return checked


def excerpt(item: Evidence, question_vector: np.ndarray, words: int) -> str:
    """The clauses of a passage nearest the question, in document order, about `words` long."""
    if not item.clauses:
        return " ".join(item.hit.passage.text.split()[:words])
    order = np.argsort(-(item.vectors @ question_vector))
    chosen: list[int] = []
    total = 0
    for index in order:
        length = len(item.clause(int(index)).split())
        if chosen and total + length > words:
            continue
        chosen.append(int(index))
        total += length
    return " ".join(item.clause(i) for i in sorted(chosen))


def extractive(evidence: list[Evidence], question_vector: np.ndarray, question: str,
               named: Sequence[str] = ()) -> list[Checked]:
    """One quoted clause from each of the best passages that come close to the question, or that
    lie in a provision the question names (`named` locators: "Art. 22 GDPR" is close to no clause
    in meaning or words, yet Article 22 is what was asked for)."""
    question_words = content_words(question)
    quotes = []
    for item in evidence:
        if not item.clauses:
            continue
        similarities = item.vectors @ question_vector
        index = int(similarities.argmax())
        clause = item.clause(index)
        asked_for = any(matches_locator(item.hit.passage.locator, locator) for locator in named)
        if (not asked_for and similarities[index] < EXTRACTIVE_MIN_SIMILARITY
                and not overlap(question_words, content_words(clause))):
            continue
        quotes.append(Checked(f"{item.hit.passage.reference()}: “{clause}” [{item.n}]", supports={item.n: clause}))
        if len(quotes) == EXTRACTIVE_QUOTES:
            break
    return quotes


_QUOTE_LINE = re.compile(r"”(?:\s*\[\d+\])+\s*$")


def answer_units(text: str) -> list[str]:
    """What must each carry a citation in an answer's text: a quoted line whole (its quote may
    hold several sentences), every sentence of the other lines."""
    return [unit for line in text.splitlines() if line.strip()
            for unit in ([line] if is_quote(line) else split_sentences(line))]


def is_quote(unit: str) -> bool:
    """An answer line that quotes a passage (extractive), not a sentence the model wrote."""
    return bool(_QUOTE_LINE.search(unit))


def names_not_in(names: list[str], hits: list[Hit]) -> list[str]:
    """The names of a question ("Japan", "UK") that none of the passages mentions.

    A passage about copyright in general does not answer a question about copyright in Japan;
    a document's jurisdiction counts as mentioning the places it stands for.
    """
    if not names:
        return []
    said = " ".join(" ".join([hit.passage.text, hit.passage.title, *hit.passage.heading_path,
                              *JURISDICTION_NAMES.get(hit.passage.metadata.get("jurisdiction", ""), ())])
                    for hit in hits)
    folded = said.casefold()
    return [name for name in dict.fromkeys(names)
            if not (re.search(rf"\b{re.escape(name)}s?\b", said) if name.isupper()  # GPU: GPUs
                    else name.casefold() in folded)]


def names_in_passing(names: list[str], hits: list[Hit], question: str, embedder: Embedder,
                     threshold: float) -> list[str]:
    """The names of a question that the passages mention only in sentences far from it.

    "What are China's interim measures for generative AI?" finds a plan that says "China has
    rapidly built out their grid": the name is there, the subject is not. A passage whose title,
    headings or jurisdiction carry the name is about it, wherever its sentences say it.
    """
    far = []
    question_vector: np.ndarray | None = None
    for name in dict.fromkeys(names):
        sentences: list[str] = []
        for hit in hits:
            if names_not_in([name], [hit]):
                continue
            said = [sentence for sentence in split_sentences(hit.passage.text)
                    if not names_not_in([name], [_text_only(hit, sentence)])]
            if not said:  # the title, headings or jurisdiction carry it
                sentences = []
                break
            sentences += said
        if not sentences:
            continue
        if question_vector is None:
            question_vector = np.asarray(embedder.embed_query(question), dtype=np.float32)
        similarity = float((np.asarray(embedder.embed(sentences), dtype=np.float32) @ question_vector).max())
        if similarity < threshold:
            far.append(name)
    return far


def _text_only(hit: Hit, text: str) -> Hit:
    """The hit with only `text` and none of its document's names, to ask whether `text` says a name."""
    passage = replace(hit.passage, text=text, title="", heading_path=[], metadata={})
    return replace(hit, passage=passage)


def _abstain(answer: Answer, hits: list[Hit], why: str) -> Iterator[str]:
    answer.mode = "abstained"
    answer.text = ABSTAIN_TEXT.format(why=why)
    answer.citations = []
    answer.see_also = hits[:SEE_ALSO]
    yield answer.text


def _citations(kept: list, evidence: list[Evidence]) -> list[Citation]:
    by_n = {item.n: item for item in evidence}
    citations: dict[int, Citation] = {}
    for verdict in kept:
        for n, quote in verdict.supports.items():
            if n not in citations:
                citations[n] = Citation(n=n, passage=by_n[n].hit.passage, quote=quote)
    return [citations[n] for n in sorted(citations)]


def _finish(answer: Answer, started: float) -> Answer:
    answer.timings_ms["total"] = _ms(started)
    return answer


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
