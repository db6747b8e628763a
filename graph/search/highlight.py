"""Highlighted snippets: the passage of a text where a query's words are, with each matching word
marked, matched as the index matches them (folded, and stemmed in the text's language).

    snippet("Pensions of informal workers in Chile ...", "en", parse("pension chile"))
    # 'Pensions of informal workers in <mark>Chile</mark> ...' (escaped HTML)
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from policykg.graph.search import syntax
from policykg.graph.search.analysis import analyze, words

WIDTH = 240  # characters a snippet shows at most
FORMS_KEPT = 200_000  # words whose folded form and stems are remembered
_WORD = re.compile(r"[^\W_]+")


class Matcher:
    """The words a query looks for, as a text in one language holds them."""

    def __init__(self, tree: syntax.Node | None, language: str | None) -> None:
        self.stems: set[str] = set()
        self.prefixes: list[str] = []
        for term in syntax.terms(tree):
            if term.prefix:
                self.prefixes += words(term.text)[-1:]
            else:
                self.stems.update(analyze(term.text, language))
        self.language = language
        self._seen: dict[str, bool] = {}  # words recur: each is looked at once

    def matches(self, word: str) -> bool:
        """Whether a word of the text is one the query looks for."""
        found = self._seen.get(word)
        if found is None:
            found = self._seen[word] = self._matches(word)
        return found

    def _matches(self, word: str) -> bool:
        folded, stems = _forms(word, self.language)
        if folded is None:
            return False
        if any(folded.startswith(prefix) for prefix in self.prefixes):
            return True
        return bool(self.stems.intersection(stems))


class Matchers:
    """A query's matchers by language, for the texts of one page of hits (their words recur
    from text to text: each is looked at once a language)."""

    def __init__(self, tree: syntax.Node | None) -> None:
        self.tree = tree
        self._made: dict[str | None, Matcher] = {}

    def of(self, language: str | None) -> Matcher:
        """The matcher of texts in a language."""
        made = self._made.get(language)
        if made is None:
            made = self._made[language] = Matcher(self.tree, language)
        return made


@lru_cache(maxsize=FORMS_KEPT)
def _forms(word: str, language: str | None) -> tuple[str | None, tuple[str, ...]]:
    """A word of a text folded, and its stems in the text's language (words recur across
    texts: each is analyzed once)."""
    folded = words(word)
    return (folded[0] if folded else None), tuple(analyze(word, language))


def highlight(text: str, matcher: Matcher) -> str:
    """The whole text, escaped, its matching words marked."""
    return _marked(text, _spans(text, matcher))


def snippet(text: str, matcher: Matcher, width: int = WIDTH) -> str:
    """The passage of ``width`` characters with the most matching words (the text's start
    when none match), escaped, the words marked, with an ellipsis where it is cut."""
    spans = _spans(text, matcher)
    if len(text) <= width:
        return _marked(text, spans)
    start = _best_start(spans, width) if spans else 0
    if start:
        start = max(0, text.rfind(" ", 0, start) + 1)
    end = min(len(text), start + width)
    if end < len(text):
        end = text.rfind(" ", start, end) if " " in text[start:end] else end
    inside = [(a - start, b - start) for a, b in spans if a >= start and b <= end]
    return ("… " if start else "") + _marked(text[start:end], inside) + \
        (" …" if end < len(text) else "")


def _spans(text: str, matcher: Matcher) -> list[tuple[int, int]]:
    """Where the words the query looks for are in a text (nowhere, for a query of none)."""
    if not matcher.stems and not matcher.prefixes:
        return []
    return [m.span() for m in _WORD.finditer(text) if matcher.matches(m.group())]


def _best_start(spans: list[tuple[int, int]], width: int) -> int:
    """Where the window of ``width`` that holds the most matches begins (a little before the
    first of them)."""
    best, best_count = spans[0][0], 0
    for index, (start, _) in enumerate(spans):
        count = sum(1 for a, b in spans[index:] if b <= start + width * 3 // 4)
        if count > best_count:
            best, best_count = start, count
    return max(0, best - width // 4)


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end in spans:
        pieces += [escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>"]
        last = end
    pieces.append(escape(text[last:]))
    return "".join(pieces)
