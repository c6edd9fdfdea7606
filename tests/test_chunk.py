"""Chunking: passages follow the document's structure and respect the encoder's budget."""

from ingest.chunk import chunk, split_sentences
from kb.types import ParsedDocument, Section, Source

SOURCE = Source(id="act", title="Test Act", canonical_url="https://example.org/act")

LONG_POINT = ("the use of AI systems to infer emotions of a natural person in the areas of workplace "
              "and education institutions, except where the use is intended for medical or safety "
              "reasons. ") * 3


def act_tree() -> ParsedDocument:
    points = [Section(kind="point", locator=f"Article 5(1)({label})", anchor="art_5",
                      blocks=[f"({label}) {LONG_POINT}"]) for label in "abcdef"]
    article5 = Section(kind="article", locator="Article 5", heading="Article 5 Prohibited AI practices",
                       anchor="art_5", children=[
                           Section(kind="paragraph", locator="Article 5(1)", anchor="art_5",
                                   blocks=["1. The following AI practices shall be prohibited:"],
                                   children=points),
                           Section(kind="paragraph", locator="Article 5(2)", anchor="art_5",
                                   blocks=["2. Member States may lay down rules."])])
    article6 = Section(kind="article", locator="Article 6", heading="Article 6 Short", anchor="art_6",
                       blocks=["This Regulation applies."])
    chapter = Section(kind="chapter", heading="Chapter II Prohibited practices", anchor="cpt_II",
                      container=True, children=[article5, article6])
    return ParsedDocument(root=Section(kind="document", container=True, children=[chapter]))


def test_long_paragraph_splits_into_its_points_with_lead_in_context(embedder):
    passages = chunk(act_tree(), SOURCE, embedder.count_tokens, 200)
    locators = [p.locator for p in passages]
    assert "Article 5(1)(f)" in locators and "Article 5(2)" in locators
    point_f = passages[locators.index("Article 5(1)(f)")]
    assert point_f.context == "1. The following AI practices shall be prohibited:"
    assert point_f.url == "https://example.org/act#art_5"
    assert point_f.heading_path == ["Chapter II Prohibited practices", "Article 5 Prohibited AI practices"]
    assert point_f.text.startswith("(f) the use of AI systems")


def test_article_that_fits_is_one_passage(embedder):
    passages = chunk(act_tree(), SOURCE, embedder.count_tokens, 200)
    article6 = [p for p in passages if p.locator.startswith("Article 6")]
    assert [p.locator for p in article6] == ["Article 6"]
    assert article6[0].passage_id == "act:article-6"


def test_every_passage_within_budget_and_no_text_lost(embedder):
    passages = chunk(act_tree(), SOURCE, embedder.count_tokens, 60)
    assert all(p.tokens <= 60 for p in passages)
    assert all(embedder.count_tokens([p.text])[0] <= 60 for p in passages)
    joined = " ".join(" ".join(p.text.split()) for p in passages)
    assert joined.count("medical or safety reasons") == 18  # 6 points x 3 sentences
    ids = [p.passage_id for p in passages]
    assert len(ids) == len(set(ids)), "passage ids must be unique"


def test_long_block_splits_between_sentences_never_inside(embedder):
    sentences = [f"Sentence number {n} explains a separate obligation of providers in detail." for n in range(40)]
    node = Section(kind="recital", locator="Recital 7", anchor="rct_7", blocks=[" ".join(sentences)])
    passages = chunk(ParsedDocument(root=Section(kind="document", container=True, children=[node])),
                     SOURCE, embedder.count_tokens, 64)
    assert len(passages) > 1
    assert {p.locator for p in passages} == {"Recital 7"}
    for passage in passages:
        assert passage.text.endswith("detail."), passage.text[-40:]
    assert [p.passage_id for p in passages][:2] == ["act:recital-7", "act:recital-7~2"]


def test_sentence_splitter_keeps_abbreviations_and_labels():
    text = "See Art. 5 of the Act. It covers e.g. Biometrics. 2. The Commission shall act. “Quoted.” Done"
    assert split_sentences(text) == ["See Art. 5 of the Act.", "It covers e.g. Biometrics.",
                                     "2. The Commission shall act.", "“Quoted.”", "Done"]


def test_unspaced_text_and_giant_words_still_fit(embedder):
    chinese = "在回答时请注意以下几点今天是星期三并非搜索结果的所有内容都与用户的问题密切相关" * 20
    url = "https://example.org/" + "a1b2c3d4" * 150
    node = Section(kind="heading", locator="Prompts", anchor="prompts", blocks=[chinese, url])
    passages = chunk(ParsedDocument(root=Section(kind="document", container=True, children=[node])),
                     SOURCE, embedder.count_tokens, 100)
    assert max(embedder.count_tokens([p.text for p in passages])) <= 100
    assert "".join(p.text.replace(" ", "").replace("\n", "") for p in passages) == chinese + url
