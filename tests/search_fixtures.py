"""A small rulebook with numbered clauses, added as a user would add it (for tests/test_search_*.py)."""

from pathlib import Path

RULEBOOK = """## 3.1.1

A Fund Manager must notify the Regulator in writing within 10 business days of any change to its auditors.

## 3.1.2

A Fund Manager must notify the Regulator in writing within 10 business days of any change in its controllers.

## 3.1.3

A Fund Manager must keep a record of every notification made under Rule 3.1.1 or Rule 3.1.2 for six years.

## 4.2.1

A Custodian must segregate Client Assets from its own assets and hold them in a separate client account.

## 4.2.2

A Custodian may appoint a sub-custodian only after assessing the sub-custodian's financial standing and expertise.

## 5.3

The Regulator may waive or modify a requirement of this chapter on the written application of an Authorised Person.
"""

GUIDANCE = """## 1.1

Guidance for Fund Managers: Rule 3.1.2 of the Fund Rules applies to a change of controllers however it comes about.

## 1.2

Firms should plan for the orderly wind-down of their business before they begin to trade.
"""


def build_rulebook_home(home: Path, embedder) -> Path:
    """A data directory holding the rulebook and a guidance note that cites it."""
    from kb.api import KnowledgeBase

    home.mkdir(parents=True)
    registry = home / "sources.toml"
    registry.write_text("", encoding="utf-8")
    for name, text in (("fund-rules.md", RULEBOOK), ("fund-guidance.md", GUIDANCE)):
        (home / name).write_text(text, encoding="utf-8")
    with KnowledgeBase.open(home, embedder=embedder, sources_file=registry) as kb:
        kb.add(str(home / "fund-rules.md"), title="Fund Rules (FUNDS)", doc_id="fund-rules")
        kb.add(str(home / "fund-guidance.md"), title="Guidance on the Fund Rules", doc_id="fund-guidance")
    return home
