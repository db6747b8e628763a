"""Text analysis: how a text and a query become the words they are matched by.

Every text is cut into runs of letters and digits, lower-cased and stripped of its accents
("Pérez" -> "perez", "información" -> "informacion"); a text in a language with a Snowball
stemmer of its own (STEMMED) is also stemmed ("pensions" -> "pension", "pensiones" ->
"pension"). The embedded engine does this with tantivy's own analyzers (named below); a store
that searches its own literals is given texts and queries analyzed here, with the same Snowball
algorithms, so that both match the same words.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import snowballstemmer

from policykg.graph.mapping.normalise import fold

# Language code -> the Snowball algorithm of that language.
STEMMED = {"en": "english", "es": "spanish", "pt": "portuguese", "fr": "french"}
LONGEST = 40  # characters: a longer "word" is noise (a URL, a run of digits), not indexed
STEMS_KEPT = 200_000  # (language, word) -> stem remembered: highlighting stems every word shown
FOLDED = "fold"  # the analyzer of texts in no stemmed language, of names and of prefixes
_WORD = re.compile(r"[^\W_]+")


def analyzer_name(language: str | None) -> str:
    """The analyzer of a text in ``language`` (a BCP 47 tag, or None): its stemmer's name
    when it has one, else the folding analyzer."""
    code = base_language(language)
    return f"stem_{code}" if code in STEMMED else FOLDED


def base_language(language: str | None) -> str | None:
    """The primary language subtag, lower case: 'en-US' -> 'en'."""
    return language.split("-", 1)[0].lower() if language else None


def words(text: str) -> list[str]:
    """The folded words of a text, in order: runs of letters and digits, lower case, no
    accents, at most LONGEST characters."""
    return [w for w in _WORD.findall(fold(text)) if len(w) <= LONGEST]


def analyze(text: str, language: str | None = None) -> list[str]:
    """The words of a text as they are indexed: folded, then stemmed when ``language`` has a
    stemmer (STEMMED)."""
    found = words(text)
    code = base_language(language)
    return [_stem(code, word) for word in found] if code in STEMMED else found


@lru_cache(maxsize=STEMS_KEPT)
def _stem(code: str, word: str) -> str:
    """A folded word's stem in a language (Snowball in pure Python is slow: words recur)."""
    return _stemmer(code).stemWord(word)


@cache
def _stemmer(code: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(STEMMED[code])
