"""What a question's form asks for (kb/question_form.py): only an open question may be answered
with a whole list; a verdict, a date or a figure is answered by the provision that says it."""

from __future__ import annotations

import pytest

from kb.question_form import AMOUNT, OPEN, TIME, VERDICT, answer_kind, may_ask_for_a_list


@pytest.mark.parametrize("question, kind", [
    ("Which AI practices are banned in the EU?", OPEN),
    ("List the prohibited AI practices", OPEN),
    ("What must providers of high-risk AI systems do?", OPEN),
    ("Who has to carry out a fundamental rights impact assessment?", OPEN),
    # "When" that asks under which conditions is open: the conditions may be a list.
    ("When must a controller carry out a data protection impact assessment?", OPEN),
    ("When do the obligations of providers of high-risk AI systems apply?", TIME),
    ("Since when does the GDPR apply?", TIME),
    ("From what date are general-purpose AI models covered?", TIME),
    ("How long may personal data be kept?", TIME),
    ("deadline for notifying a personal data breach", TIME),
    ("Are providers of high-risk AI systems required to register them?", VERDICT),
    ("Can my employer read my emotions at work?", VERDICT),
    # The question proper is the last one asked, after any sentence or clause that sets it up.
    ("We sell a CV-screening tool. Does the AI Act treat it as high-risk?", VERDICT),
    ("If a chatbot talks to customers, must it say that it is a bot?", VERDICT),
    ("When I apply for a loan, can a bank decide by algorithm alone?", VERDICT),
    ("Is Art. 5 GDPR binding on processors?", VERDICT),
    ("How much computing power makes a model systemic?", AMOUNT),
    ("How many points does Article 16 have?", AMOUNT),
    ("", OPEN),
])
def test_the_answer_a_question_asks_for(question, kind):
    assert answer_kind(question) == kind
    assert may_ask_for_a_list(question) is (kind == OPEN)
