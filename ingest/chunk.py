"""Document tree to passages, along the document's own structure.

A node whose whole text fits the token budget becomes one passage (an article's paragraph with its
points, a recital, a Markdown section). A node that does not fit yields its own text, packed at
paragraph boundaries, and then each child in turn. A paragraph longer than the budget is split
between sentences, and only a single sentence longer than the budget is split between words.
Container nodes (chapters, sections) never become one passage.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from kb.sentences import split_document_sentences as split_sentences
from kb.types import ParsedDocument, Passage, Section, Source

TokenCounter = Callable[[list[str]], list[int]]
_LEAD_IN_MAX_CHARS = 300


@dataclass(frozen=True)
class _Draft:
    locator: str
    anchor: str
    heading_path: tuple[str, ...]
    context: str
    kind: str
    blocks: tuple[str, ...]
    tokens: int


def slugify(text: str) -> str:
    """A URL- and id-safe form of a locator: 'Article 5(1)(f)' -> 'article-5-1-f'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "text"


class _Chunker:
    """Walks one document tree and collects passage drafts."""

    def __init__(self, count_tokens: TokenCounter, max_tokens: int):
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self._token_memo: dict[str, int] = {}
        self.drafts: list[_Draft] = []

    def tokens(self, texts: list[str]) -> list[int]:
        """Word-piece counts, each distinct text counted once."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._token_memo]
        if missing:
            self._token_memo.update(zip(missing, self.count_tokens(missing), strict=False))
        return [self._token_memo[text] for text in texts]

    def subtree_blocks(self, node: Section) -> list[str]:
        """All text of a node and its descendants, in document order."""
        return [block for part in node.walk() for block in part.blocks if block.strip()]

    def visit(self, node: Section, path: tuple[str, ...], anchor: str, locator: str, context: str):
        """Emit drafts for a node: whole if it fits, else its own text and then its children."""
        path = path + (node.heading,) if node.heading else path
        anchor = node.anchor or anchor
        locator = node.locator or locator
        everything = self.subtree_blocks(node)
        if not everything:
            return
        if not node.container and node.locator and sum(self.tokens(everything)) <= self.max_tokens:
            self.drafts.append(self._draft(node, locator, anchor, path, context, everything))
            return
        own = [block for block in node.blocks if block.strip()]
        for packed in self.pack(own):
            self.drafts.append(self._draft(node, locator or (path[-1] if path else ""), anchor,
                                           path, context, packed))
        child_context = self.lead_in(node, own) or context
        for child in node.children:
            self.visit(child, path, anchor, locator if not node.container else "", child_context)

    def lead_in(self, node: Section, own: list[str]) -> str:
        """The words that introduce a node's children ("The following practices are prohibited:")."""
        if node.container or not own:
            return ""
        first = own[0]
        return first if len(first) <= _LEAD_IN_MAX_CHARS else first[:_LEAD_IN_MAX_CHARS].rsplit(" ", 1)[0] + " …"

    def pack(self, blocks: list[str]) -> list[list[str]]:
        """Greedy packing of whole blocks, splitting a block only when it alone is too long."""
        pieces: list[str] = []
        for block in blocks:
            if self.tokens([block])[0] <= self.max_tokens:
                pieces.append(block)
            else:
                pieces.extend(self.split_long(block))
        return self.runs(pieces)

    def split_long(self, block: str) -> list[str]:
        """A too-long block as runs of whole sentences (words only for a giant sentence)."""
        sentences: list[str] = []
        for sentence in split_sentences(block):
            if self.tokens([sentence])[0] <= self.max_tokens:
                sentences.append(sentence)
            else:
                sentences.extend(self.split_words(sentence))
        return [" ".join(run) for run in self.runs(sentences)]

    def split_words(self, sentence: str) -> list[str]:
        """Last resort for a sentence longer than the budget: cut between words.

        A BERT tokenizer splits on white space first, so a run's size is the sum of its words'.
        A single word over the budget (unspaced CJK text, a long URL) is cut by characters: one
        character is never more than one word piece.
        """
        words = [piece for word in sentence.split() for piece in self._cut_giant(word)]
        return [" ".join(run) for run in self.runs(words)]

    def runs(self, pieces: list[str]) -> list[list[str]]:
        """Consecutive pieces grouped greedily, each group within the token budget."""
        groups: list[list[str]] = []
        current: list[str] = []
        used = 0
        for piece, size in zip(pieces, self.tokens(pieces), strict=False):
            if current and used + size > self.max_tokens:
                groups.append(current)
                current, used = [], 0
            current.append(piece)
            used += size
        if current:
            groups.append(current)
        return groups

    def _cut_giant(self, word: str) -> list[str]:
        if len(word) <= self.max_tokens or self.tokens([word])[0] <= self.max_tokens:
            return [word]
        return [word[i:i + self.max_tokens] for i in range(0, len(word), self.max_tokens)]

    def _draft(self, node, locator, anchor, path, context, blocks) -> _Draft:
        text_tokens = self.tokens(["\n".join(blocks)])[0]
        return _Draft(locator=locator, anchor=anchor, heading_path=path, context=context,
                      kind=node.kind, blocks=tuple(blocks), tokens=text_tokens)


def passage_url(canonical_url: str, anchor: str) -> str:
    """The canonical URL with the anchor that opens the text at this place."""
    if not anchor or not canonical_url:
        return canonical_url
    return f"{canonical_url.split('#', 1)[0]}#{anchor}"


def chunk(document: ParsedDocument, source: Source, count_tokens: TokenCounter,
          max_tokens: int) -> list[Passage]:
    """Turn a parsed document into passages of at most `max_tokens` word pieces each."""
    chunker = _Chunker(count_tokens, max_tokens)
    chunker.visit(document.root, (), "", "", "")
    seen: Counter[str] = Counter()
    passages = []
    metadata = source.metadata()
    for ordinal, draft in enumerate(chunker.drafts):
        key = slugify(draft.locator)
        seen[key] += 1
        suffix = f"~{seen[key]}" if seen[key] > 1 else ""
        passages.append(Passage(
            passage_id=f"{source.id}:{key}{suffix}",
            doc_id=source.id,
            title=source.title,
            locator=draft.locator or "Text",
            url=passage_url(source.canonical_url, draft.anchor),
            text="\n".join(draft.blocks),
            heading_path=list(draft.heading_path),
            context=draft.context,
            kind=draft.kind,
            ordinal=ordinal,
            tokens=draft.tokens,
            metadata=dict(metadata),
        ))
    return passages
