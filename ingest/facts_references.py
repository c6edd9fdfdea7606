"""Cross-references: the provisions and acts a passage points to.

    "Article 6(2)", "Annex III", "Articles 53 and 55"   -> kb/references.py reads them, as for queries
    "Article 22 of Regulation (EU) 2016/679"             -> Article 22 of the act reg:2016/679
    "Directive (EU) 2019/790", "Directive 95/46/EC"      -> the whole act, with its EUR-Lex link
    "paragraph 1 of this Article", "point (a) of the first subparagraph"
                                                         -> relative to the passage's own article

Targets in the same document are resolved to its passages here; an act is resolved to a corpus
document only when read (kb/catalogue.py), so a reference finds a document ingested later.
"""

from __future__ import annotations

import re

from kb.catalogue_facts import act_of_url
from kb.references import ATTACHED_AFTER, ATTACHED_BEFORE, document_mentions, find_references, parent_locators
from kb.types import CrossReference, Passage

ACT = re.compile(r"""
    \b(?P<kind>Regulation|Directive|Decision)\s+
    (?:\((?:EU|EC|EEC|Euratom|CFSP)(?:,\s*Euratom)?\)\s+)?
    (?P<no>No\.?\s+)?(?P<first>\d{1,4})/(?P<second>\d{1,4})
    (?:/(?:EC|EEC|EU|JHA|CFSP|Euratom))?(?![\d/])
""", re.VERBOSE)
# The treaties, named in words: "Article 114 of the Treaty on the Functioning of the European Union".
TREATY = re.compile(r"\b(?:(?P<tfeu>Treaty on the Functioning of the European Union|TFEU)"
                    r"|(?P<teu>Treaty on European Union|TEU))\b")
TREATY_CELEX = {"tfeu": "12016E/TXT", "teu": "12016M/TXT"}
CELEX_TYPE = {"reg": "R", "dir": "L", "dec": "D"}
# Between a provision and the act it belongs to: "Article 4, point (1), of Regulation (EU) 2016/679".
ATTACHED = re.compile(r"\s*,?\s*(?:(?:of|in|to|under)\s+(?:the\s+)?)?")

_ORDINAL = r"(?:first|second|third|fourth|fifth)"
RELATIVE_PARAGRAPH = re.compile(rf"""
    \bparagraphs?\s+(?P<number>\d{{1,3}})(?![\d(/.])
    (?P<more>(?:\s*(?:,|and|or|to|,\ and|,\ or)\s*\d{{1,3}}(?![\d(/.]))*)
    (?:,\s*{_ORDINAL}\s+subparagraph)?
    (?:,?\s*points?\s+\((?P<point>[a-z]{{1,4}})\))?
""", re.VERBOSE | re.IGNORECASE)
RELATIVE_POINT = re.compile(rf"""
    \bpoints?\s+\((?P<label>[a-z]{{1,4}})\)
    (?P<more>(?:\s*(?:,|and|or|to|,\ and|,\ or)\s*\([a-z]{{1,4}}\))*)
    (?:\s+of\s+the\s+{_ORDINAL}\s+subparagraph)?
    (?:\s*,?\s*of\s+(?:this\s+)?paragraph\s+(?P<paragraph>\d{{1,3}}))?
    (?!\s*,?\s*of\s+(?:this\s+)?(?:Article|Annex|paragraph)\s+\d)
""", re.VERBOSE | re.IGNORECASE)
# Locators kb/references.py gives for guidance ("paragraph 17") that in an article mean its own parts.
RELATIVE_IN_ARTICLE = ("paragraph ", "Section ")
ARTICLE_LOCATOR = re.compile(r"^Article (\d+[a-z]?)(?:\((\d+)\))?")
NUMBER = re.compile(r"\d{1,3}|\([a-z]{1,4}\)")


def act_key(match: re.Match) -> tuple[str, str]:
    """An act named in text as its key and EUR-Lex link: ("reg:2016/679", ".../CELEX:32016R0679").

    A treaty is "tfeu" or "teu" (consolidated version).
    Acts since 2015 are numbered year first ("(EU) 2016/679"), older regulations number first
    ("(EC) No 765/2008"), directives and decisions year first ("95/46/EC").
    """
    if match.re is TREATY:
        treaty = match.lastgroup or ""
        return treaty, f"https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{TREATY_CELEX[treaty]}"
    kind = {"Regulation": "reg", "Directive": "dir", "Decision": "dec"}[match["kind"]]
    first, second = int(match["first"]), int(match["second"])
    year, number = (second, first) if match["no"] else (first, second)
    if year < 100:
        year += 1900 if year >= 50 else 2000
    celex = f"3{year}{CELEX_TYPE[kind]}{number:04d}"
    return f"{kind}:{year}/{number}", f"https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{celex}"


def find_cross_references(passages: list[Passage], canonical_url: str = "",
                          aliases: dict[str, str] | None = None) -> list[CrossReference]:
    """Every reference the passages make, targets in the same document resolved to passages.

    `aliases` (name -> doc_id, from the registry) let guidance point into the act it is about:
    "Article 5(1)(a) AI Act" in the Commission's guidelines is a reference to "doc:eu-ai-act"."""
    self_act = act_of_url(canonical_url)
    own_doc = passages[0].doc_id if passages else ""
    names = {name: doc_id for name, doc_id in (aliases or {}).items() if doc_id != own_doc}
    index = _LocatorIndex(passages)
    found: list[CrossReference] = []
    for passage in passages:
        for reference in passage_references(passage.text, passage.locator, self_act, names):
            if not reference.act and reference.target_locator:
                target = index.resolve(reference.target_locator)
                if target == passage.passage_id:
                    continue  # "this paragraph": a passage pointing at itself says nothing
                reference = CrossReference(passage.passage_id, reference.words, reference.target_locator,
                                           target_passage_id=target or "")
            else:
                reference = CrossReference(passage.passage_id, reference.words, reference.target_locator,
                                           act=reference.act, external_url=reference.external_url)
            found.append(reference)
    return found


def passage_references(text: str, locator: str, self_act: str = "",
                       aliases: dict[str, str] | None = None) -> list[CrossReference]:
    """The references in one passage's text (passage ids not yet filled), in order, each once;
    a provision of a document named by one of `aliases` is the act "doc:<doc_id>"."""
    references: dict[tuple[str, str], CrossReference] = {}
    covered: list[tuple[int, int]] = []
    acts = sorted([*ACT.finditer(text), *TREATY.finditer(text)], key=lambda m: m.start())
    attached_acts: set[int] = set()
    in_article = bool(ARTICLE_LOCATOR.match(locator))
    mentions = document_mentions(text, aliases) if aliases else []
    for reference in find_references(text, aliases or {}):
        start, end = reference.span
        named = reference.doc_id if reference.doc_id and _attached(text, start, end, reference.doc_id, mentions) else ""
        if in_article and reference.locator.startswith(RELATIVE_IN_ARTICLE) and not named:
            continue  # "paragraph 2", "Section 4" inside an act's article: read as relative below
        act = next((m for m in acts if ATTACHED.fullmatch(text, end, m.start())), None)
        key, url = act_key(act) if act else (f"doc:{named}" if named else "", "")
        if act:
            attached_acts.add(act.start())
            end = act.end()
        if key == self_act:
            key, url = "", ""
        covered.append((start, end))
        references.setdefault((key, reference.locator), CrossReference(
            "", text[start:end], reference.locator, act=key, external_url=url))
    for act in acts:
        key, url = act_key(act)
        if act.start() not in attached_acts and key != self_act:
            covered.append(act.span())
            references.setdefault((key, ""), CrossReference("", act.group(), "", act=key, external_url=url))
    for words, target in _relative(text, locator, covered):
        references.setdefault(("", target), CrossReference("", words, target))
    return list(references.values())


def _attached(text: str, start: int, end: int, doc_id: str, mentions) -> bool:
    """Whether the document's name is written right at the reference ("Article 5 AI Act",
    "the GDPR's Article 22"): in a document, a name further away names something else."""
    return any(m.doc_id == doc_id and (ATTACHED_AFTER.fullmatch(text, end, m.start)
                                       or ATTACHED_BEFORE.fullmatch(text, m.end, start))
               for m in mentions)


def _relative(text: str, locator: str, covered: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """"paragraph 1", "points (a) and (b) of the first subparagraph": targets in the passage's own
    article (only an article's passages have a paragraph to be relative to)."""
    article = ARTICLE_LOCATOR.match(locator)
    if not article:
        return []
    number, own_paragraph = article[1], article[2]
    found = []

    def free(match: re.Match) -> bool:
        return not any(start < match.end() and match.start() < end for start, end in covered)

    for match in RELATIVE_PARAGRAPH.finditer(text):
        if free(match):
            covered.append(match.span())
            for paragraph in _numbers(match["number"], match["more"]):
                point = f"({match['point']})" if match["point"] and paragraph == match["number"] else ""
                found.append((match.group().strip(), f"Article {number}({paragraph}){point}"))
    for match in RELATIVE_POINT.finditer(text):
        if free(match):
            paragraph = match["paragraph"] or own_paragraph
            inside = f"Article {number}({paragraph})" if paragraph else f"Article {number}"
            found += [(match.group().strip(), f"{inside}({label})")
                      for label in _numbers(match["label"], match["more"])]
    return found


def _numbers(first: str, more: str) -> list[str]:
    """"1" + ", 2 and 4" -> 1, 2, 4; "1" + " to 4" -> 1, 2, 3, 4; the same for "(a)" labels."""
    labels = [first, *(label.strip("()") for label in NUMBER.findall(more or ""))]
    if more and " to " in f" {more} " and len(labels) == 2 and all(label.isdigit() for label in labels):
        low, high = int(labels[0]), int(labels[1])
        if 0 < high - low <= 20:
            return [str(n) for n in range(low, high + 1)]
    if more and " to " in f" {more} " and len(labels) == 2 and all(len(label) == 1 for label in labels):
        low, high = ord(labels[0]), ord(labels[1])
        if 0 < high - low <= 20:
            return [chr(n) for n in range(low, high + 1)]
    return labels


class _LocatorIndex:
    """A document's passages by locator: a provision is found at its own passage, inside one of
    its ancestors ("Article 5(1)(a)" in a passage holding all of Article 5(1)), or at its first
    part ("Article 5" at "Article 5(1)") -- the same rule as Catalogue.first_passage_at."""

    def __init__(self, passages: list[Passage]):
        self.passages = passages
        self.first_at: dict[str, str] = {}
        for passage in passages:
            self.first_at.setdefault(passage.locator.casefold(), passage.passage_id)

    def resolve(self, locator: str) -> str | None:
        for candidate in parent_locators(locator):
            key = candidate.casefold()
            if key in self.first_at:
                return self.first_at[key]
            inside = next((p.passage_id for p in self.passages
                           if p.locator.casefold().startswith((key + "(", key + ","))), None)
            if inside:
                return inside
        return None
