"""Highlighted snippets: the passage of a text where a query's words are, with each matching word
marked, matched as the index matches them (folded, and stemmed in the text's language).

    snippet("Pensions of informal workers in Chile ...", "en", parse("pension chile"))
    # 'Pensions of informal workers in <mark>Chile</mark> ...' (escaped HTML)
"""

from __future__ import annotations

import re
from html import escape

from policykg.graph.search import syntax
from policykg.graph.search.analysis import analyze, words

WIDTH = 240  # characters a snippet shows at most
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

    def matches(self, word: str) -> bool:
        """Whether a word of the text is one the query looks for."""
        folded = words(word)
        if not folded:
            return False
        if any(folded[0].startswith(prefix) for prefix in self.prefixes):
            return True
        return bool(self.stems.intersection(analyze(word, self.language)))


def highlight(text: str, matcher: Matcher) -> str:
    """The whole text, escaped, its matching words marked."""
    return _marked(text, [m.span() for m in _WORD.finditer(text) if matcher.matches(m.group())])


def snippet(text: str, matcher: Matcher, width: int = WIDTH) -> str:
    """The passage of ``width`` characters with the most matching words (the text's start
    when none match), escaped, the words marked, with an ellipsis where it is cut."""
    spans = [m.span() for m in _WORD.finditer(text) if matcher.matches(m.group())]
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
