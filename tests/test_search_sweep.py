"""`kb eval FILE --sweep`: fusion weights measured on a data directory's own questions, kept only when asked."""

import json
import shutil

from kb.api import KnowledgeBase
from kb.config import load_settings, save_settings
from kb.evaluate import SWEEP_KEYWORD_WEIGHTS, load_questions

QUESTIONS = [
    {"id": "register", "question": "Do I have to register a heavy drone before flying it?",
     "doc_id": "drones", "locators": ["Registration"]},
    {"id": "night", "question": "What light does a drone need after dark?",
     "doc_id": "drones", "locators": ["Night flights"]},
    {"id": "helmet", "question": "Must young children wear helmets on bikes?",
     "doc_id": "helmet-notes", "locators": ["Text"]},
]


def question_file(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS), encoding="utf-8")
    return load_questions(path)


def test_a_sweep_measures_every_weight_and_writes_nothing_unless_asked(small_home, embedder, tmp_path,
                                                                       monkeypatch):
    monkeypatch.delenv("KB_KEYWORD_WEIGHT", raising=False)
    home = tmp_path / "home"
    shutil.copytree(small_home, home)
    with KnowledgeBase.open(home, embedder=embedder) as kb:
        before = [(hit.passage.passage_id, hit.score) for hit in kb.search(QUESTIONS[0]["question"]).hits]
        report = json.loads(kb.sweep_fusion(question_file(tmp_path), as_json=True))
        assert [row["keyword_weight"] for row in report["tried"]] == list(SWEEP_KEYWORD_WEIGHTS)
        assert report["current"]["keyword_weight"] == kb.settings.keyword_weight
        everything = [report["current"], *report["tried"]]
        assert report["best"]["mrr_at_10"] == max(row["mrr_at_10"] for row in everything)
        assert all(0 <= row["recall_at_5"] <= 1 for row in everything)
        assert report["written"] is None
        text = kb.sweep_fusion(question_file(tmp_path))
        assert "best: dense_weight" in text and "nothing written" in text
        assert not (home / "config.toml").exists()
        # The sweep leaves the settings in force: the same search scores as it did before.
        assert [(hit.passage.passage_id, hit.score) for hit in kb.search(QUESTIONS[0]["question"]).hits] == before

def test_saved_weights_belong_to_their_data_directory(tmp_path, monkeypatch):
    for name in ("KB_KEYWORD_WEIGHT", "KB_DENSE_WEIGHT", "KB_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    home, other = tmp_path / "rulebooks", tmp_path / "other"
    (home).mkdir()
    (home / "config.toml").write_text('collection = "rules"\n', encoding="utf-8")
    save_settings(home, {"keyword_weight": 1.5, "dense_weight": 1.0})
    assert load_settings(home=home).keyword_weight == 1.5
    assert load_settings(home=home).collection == "rules"  # what was there stays
    assert load_settings(home=other).keyword_weight == load_settings(home=tmp_path / "x").keyword_weight
    monkeypatch.setenv("KB_KEYWORD_WEIGHT", "0.4")  # the environment still wins
    assert load_settings(home=home).keyword_weight == 0.4
