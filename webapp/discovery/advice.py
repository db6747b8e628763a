"""What to drop when a search finds nothing: each thing that narrows it (a filter value, the
years, the words or one of several words), with how many publications the search finds
without it, most first."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from policykg.graph.search.engines.engine import TextIndex
from policykg.graph.search.request import SearchRequest
from policykg.webapp.discovery.state import SearchState, Shorten

PLAIN_WORDS = re.compile(r"^[^\"():*\-+]+$")  # words with no operator, phrase or field


@dataclass(frozen=True)
class Advice:
    """One thing to drop: what it is (``kind``: a facet name, "years", "words" or "word";
    ``label``), the search without it, and how many that finds."""

    kind: str
    label: str
    href: str
    count: int


def advice(engine: TextIndex, asked: SearchRequest, state: SearchState, shorten: Shorten,
           labels: dict[str, str], path: str) -> list[Advice]:
    """Each thing narrowing an empty search, with the count without it, most found first."""
    found = []
    for name, iris in asked.filters.items():
        for iri in iris:
            others = {n: tuple(v for v in values if not (n == name and v == iri))
                      for n, values in asked.filters.items()}
            request = replace(asked, filters={n: v for n, v in others.items() if v})
            found.append(Advice(name, labels.get(iri, iri),
                                state.toggled(name, shorten(name, iri)).href(path),
                                _count(engine, request)))
    if asked.years is not None:
        found.append(Advice("years", years_label(asked), state.without_years().href(path),
                            _count(engine, replace(asked, year_from=None, year_to=None))))
    words = asked.q.split()
    if len(words) > 1 and PLAIN_WORDS.match(asked.q) and not {"OR", "NOT", "AND"} & set(words):
        for index, word in enumerate(words):
            rest = " ".join(words[:index] + words[index + 1:])
            found.append(Advice("word", word, state.href(path, q=rest, page=1),
                                _count(engine, replace(asked, q=rest))))
    elif asked.q.strip() and found:
        found.append(Advice("words", asked.q.strip(), state.without_words().href(path),
                            _count(engine, replace(asked, q=""))))
    return sorted(found, key=lambda item: -item.count)


def _count(engine: TextIndex, request: SearchRequest) -> int:
    return engine.search(replace(request, page=1, size=1, facets=False)).total


def years_label(asked: SearchRequest) -> str:
    """The year range of a search, as a page says it (2015\u20132020, from 2015, until 2020)."""
    start, end = asked.year_from, asked.year_to
    if start and end:
        return f"{start}\u2013{end}" if start != end else str(start)
    return f"from {start}" if start else f"until {end}"
