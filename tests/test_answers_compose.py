"""Answers composed from the structure, on a real store of the AI Act and the GDPR (the real
model, real Chroma, ingested once for this module): the list question gets the list, each cited
provision its date of application, the answer the definitions and related provisions."""

from __future__ import annotations

import os
import re
import sqlite3
import tomllib
from pathlib import Path

import pytest

from kb.api import KnowledgeBase
from kb.errors import UsageError
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # the real model and Chroma, for claims about answers

ACTS = ("eu-ai-act", "gdpr")
BANNED = "Which AI practices are banned in the EU?"


@pytest.fixture(scope="module")
def acts_kb(shared_corpus, embedder, tmp_path_factory):
    """A knowledge base holding only the AI Act and the GDPR, ingested from the shared corpus."""
    home = tmp_path_factory.mktemp("acts") / "kb-home"
    registry = tomllib.loads((REPO / "corpus" / "sources.toml").read_text(encoding="utf-8"))
    entries = [entry for entry in registry["document"] if entry["id"] in ACTS]
    home.mkdir(parents=True)
    sources = home / "sources.toml"
    sources.write_text("".join("[[document]]\n" + "".join(f"{key} = {value!r}\n".replace("'", '"')
                                                          for key, value in entry.items()
                                                          if isinstance(value, str)) + "\n"
                               for entry in entries), encoding="utf-8")
    with KnowledgeBase.open(home, embedder=embedder, sources_file=sources, mirror=shared_corpus) as kb:
        seed_embedding_cache(kb.settings.embedding_cache_path)  # before the first ingest opens it
        results = kb.ingest().results
        assert [r.status for r in results] == ["ingested", "ingested"], results
        yield kb


def seed_embedding_cache(path: Path) -> None:
    """Start from an existing embedding cache when KB_TEST_EMBEDDING_CACHE names one: it is keyed
    by model and text, so the store is the same, only built in seconds instead of minutes."""
    seed = os.environ.get("KB_TEST_EMBEDDING_CACHE")
    if not seed or not Path(seed).is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{seed}?mode=ro", uri=True)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def extractive(kb, question, as_of):
    return kb.ask(question, backend="extractive", as_of=as_of)


def test_the_list_question_gets_every_point_of_article_5_1_with_its_date(acts_kb):
    answer = extractive(acts_kb, BANNED, "2025-06-01")
    assert answer.mode == "extractive"
    lines = answer.text.splitlines()
    assert lines[0].startswith("Regulation (EU) 2024/1689, Article 5(1) (applies from 2 February 2025): "
                               "“1. The following AI practices shall be prohibited:”")
    points = [c.passage.locator for c in answer.citations if c.passage.locator.startswith("Article 5(1)(")]
    assert points == [f"Article 5(1)({letter})" for letter in "abcdefgh"]
    assert [c.passage.locator for c in answer.citations[:9]] == ["Article 5(1)", *points]
    assert all(c.applies_from == "2025-02-02" and c.status == "applies" for c in answer.citations[:9])
    assert all(c.applies_from_basis == "Article 113(a)" for c in answer.citations[:9])
    # A short point is quoted whole, with its exception.
    emotions = next(c for c in answer.citations if c.passage.locator == "Article 5(1)(f)")
    assert emotions.quote.endswith("except where the use of the AI system is intended to be put in place "
                                   "or into the market for medical or safety reasons;")


def test_binding_provisions_come_before_recitals(acts_kb):
    answer = extractive(acts_kb, BANNED, "2025-06-01")
    kinds = [c.passage.kind for c in answer.citations]
    assert "recital" not in kinds or kinds.index("recital") > max(
        i for i, kind in enumerate(kinds) if kind in ("paragraph", "point", "article"))


def test_every_line_cites_a_passage_that_holds_its_quote(acts_kb):
    answer = extractive(acts_kb, "Do I have to tell people a video was made with AI?", "2025-06-01")
    by_n = {c.n: c for c in answer.citations}
    for line in answer.text.splitlines():
        n = int(line.rsplit("[", 1)[1].rstrip("]"))
        assert " ".join(by_n[n].quote.split()) in line and by_n[n].reference() in line
    stored = {passage.passage_id: passage for doc_id in ACTS for passage in acts_kb.passages(doc_id)}
    assert all(c.quote in stored[c.passage.passage_id].text for c in answer.citations)


def test_as_of_before_a_date_flags_the_provision_as_not_yet_applicable(acts_kb):
    before = extractive(acts_kb, BANNED, "2025-01-01")
    assert "(not yet applicable on 1 January 2025: applies from 2 February 2025)" in before.text.splitlines()[0]
    assert before.citations[0].status == "not yet applicable" and before.as_of == "2025-01-01"
    after = extractive(acts_kb, BANNED, "2025-02-02")
    assert after.citations[0].status == "applies" and "not yet" not in after.text.splitlines()[0]
    # Article 7 is in Chapter III, which applies only from 2 August 2026.
    later = [c for c in after.citations if c.applies_from > "2025-02-02"]
    assert all(c.status == "not yet applicable" for c in later)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        extractive(acts_kb, BANNED, "next year")


def test_definitions_of_the_terms_the_quotes_use(acts_kb):
    answer = extractive(acts_kb, "Do I have to tell people a video was made with AI?", "2025-06-01")
    assert any(c.passage.locator == "Article 50(4)" for c in answer.citations)
    defined = {c.passage.locator: c for c in answer.definitions}
    assert {"Article 3(60)", "Article 3(4)"} <= set(defined), list(defined)
    assert defined["Article 3(60)"].quote.startswith("(60) ‘deep fake’ means")
    assert defined["Article 3(60)"].passage.url.endswith("#art_3")
    numbers = [c.n for c in answer.citations + answer.definitions + answer.related]
    assert len(numbers) == len(set(numbers))


def test_related_provisions_include_another_act_the_quote_refers_to(acts_kb):
    answer = extractive(acts_kb, BANNED, "2025-06-01")
    related = {(c.passage.doc_id, c.passage.locator) for c in answer.related}
    # Article 5(1): "... without prejudice to Article 9 of Regulation (EU) 2016/679".
    assert ("gdpr", "Article 9(1)") in related, related
    gdpr = next(c for c in answer.related if c.passage.doc_id == "gdpr")
    assert gdpr.applies_from == "2018-05-25" and gdpr.passage.url.startswith("https://eur-lex.europa.eu/")
    assert any(c.passage.kind == "recital" for c in answer.related)
    as_json = answer.to_json()
    assert {"applies_from", "status"} <= set(as_json["citations"][0])
    assert as_json["definitions"] and as_json["related"] and as_json["as_of"] == "2025-06-01"


def test_gdpr_provisions_apply_from_25_may_2018(acts_kb):
    answer = extractive(acts_kb, "Do I have a right to have my personal data erased?", "2025-06-01")
    erasure = [c for c in answer.citations if c.passage.doc_id == "gdpr" and c.passage.locator.startswith("Article 17")]
    assert erasure, [c.passage.locator for c in answer.citations]
    assert all(c.applies_from == "2018-05-25" and c.applies_from_basis == "Article 99(2)" for c in erasure)


def test_kb_ask_as_of_and_json_fields(acts_kb, monkeypatch):
    import json

    from click.testing import CliRunner

    from kb.cli import cli

    monkeypatch.setenv("KB_HOME", str(acts_kb.home))
    monkeypatch.setenv("KB_SOURCES_FILE", str(acts_kb.settings.sources_file))
    result = CliRunner().invoke(cli, ["ask", BANNED, "--backend", "extractive", "--as-of", "2025-01-01", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    first = answer["citations"][0]
    assert (first["locator"], first["applies_from"], first["status"]) == ("Article 5(1)", "2025-02-02",
                                                                         "not yet applicable")
    assert answer["as_of"] == "2025-01-01"
    assert all(c["url"].startswith("https://") for c in answer["definitions"] + answer["related"])
    shown = CliRunner().invoke(cli, ["ask", BANNED, "--backend", "extractive", "--as-of", "2025-03-01"],
                               catch_exceptions=False)
    assert "applies; applies from 2025-02-02 (Article 113(a))" in shown.stdout
    assert "definitions:" in shown.stdout and "Article 3(" in shown.stdout
    bad = CliRunner().invoke(cli, ["ask", BANNED, "--as-of", "soon"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.stderr


class ScriptedModel:
    """A test double of the language model only: streams a fixed answer word by word, written
    from the prompt's own passages, and logs each token as it is read."""

    UNSUPPORTED = "Member States must pay every citizen a monthly bonus of 500 euros"

    def __init__(self, log: list):
        self.log = log
        self.supported = ""

    def stream(self, prompt: str, stop):
        passage = next(m for line in prompt.splitlines()
                       if (m := re.match(r"\[(\d+)\] \(.*?Article 5\(1\)\([a-z]\)\) (.*)$", line)))
        n, excerpt = passage[1], passage[2].split()
        self.supported = f"The AI Act prohibits {' '.join(excerpt[1:26])} [{n}]."
        for token in re.findall(r"\S+\s*", f"{self.supported} {self.UNSUPPORTED} [{n}]."):
            self.log.append(("token", token))
            yield token


def test_generated_answer_keeps_the_supported_sentence_and_streams_it_before_reading_on(
        acts_kb, monkeypatch):
    from kb import answers, llm

    log: list = []
    model = ScriptedModel(log)
    monkeypatch.setattr(answers, "load_model", lambda settings, backend: model)
    monkeypatch.setattr(llm, "load_model", lambda settings, backend: model)  # the door loads it first
    stream = acts_kb.ask_stream(BANNED, backend="llama-cpp", as_of="2025-06-01")
    for piece in stream:
        log.append(("piece", piece))
    answer = stream.answer
    assert answer.mode == "generated"
    assert answer.text.startswith(model.supported)  # shipped thresholds: settings as they come
    assert [d["sentence"].startswith(ScriptedModel.UNSUPPORTED) for d in answer.dropped_sentences] == [True]
    assert answer.dropped_sentences[0]["reason"]
    assert ScriptedModel.UNSUPPORTED not in answer.text
    first_piece = next(i for i, entry in enumerate(log) if entry[0] == "piece")
    assert log[first_piece][1].strip() == model.supported
    # Judged as soon as the next sentence began ("Member"), and passed on before another token was read.
    assert log[first_piece - 1] == ("token", "Member ") and log[first_piece + 1] == ("token", "States ")
    assert all(c.applies_from == "2025-02-02" for c in answer.citations if c.passage.locator.startswith("Article 5(1)"))
