"""A search's facets as a sidebar shows them: each value with its label, count, short value and
whether it is ticked; hierarchical facets (JEL, division, region) as trees, along the parents
the search gives (``FacetValue.parent``), a branch open when a value under it is ticked.

A tree's first two levels are drawn; a deeper branch is drawn when its value or one under it
is ticked, else it is a link that ticks its value (the JEL codes of a large result set are
several hundred: drawing every one makes a page several times heavier and slower)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pycountry

from policykg.graph.search.request import HIERARCHICAL
from policykg.graph.search.service import FacetValue
from policykg.webapp.discovery.state import SearchState, Shorten

SIDEBAR = ("type", "jel", "division", "region", "language", "author", "keyword")


@dataclass
class FacetEntry:
    """One value of a facet on the page."""

    value: str  # the short value a filter takes
    iri: str
    label: str
    count: int
    selected: bool = False
    children: list[FacetEntry] = field(default_factory=list)
    folded: int = 0  # values under it not drawn
    expand_href: str | None = None  # the search with it ticked, where they are drawn

    @property
    def open(self) -> bool:
        """Whether its branch shows unfolded: a value under it is ticked."""
        return any(child.selected or child.open for child in self.children)


@dataclass
class Facet:
    """A facet of the sidebar: its name (the URL parameter) and its values (tree roots)."""

    name: str
    entries: list[FacetEntry]
    hierarchical: bool = False


DRAWN_LEVELS = 2  # levels of a tree always drawn


def sidebar(facets: dict[str, list[FacetValue]], state: SearchState,
            shorten: Shorten, path: str,
            ticked: dict[tuple[str, str], str] | None = None) -> list[Facet]:
    """The facets of a search page, in the sidebar's order; a ticked value the results no
    longer hold stays, with no count, so that it can be unticked (``ticked``: the labels of
    the ticked values, by facet and short value)."""
    ticked = ticked or {}
    found = []
    for name in SIDEBAR:
        entries = [_entry(name, value, state, shorten) for value in facets.get(name, [])]
        shown = {entry.value for entry in entries}
        entries += [FacetEntry(value, value, ticked.get((name, value), value), 0, selected=True)
                    for value in state.filters.get(name, ()) if value not in shown]
        if name in HIERARCHICAL:
            parents = {value.value: value.parent for value in facets.get(name, [])}
            entries = _tree(entries, parents, code_order=name == "jel")
            _fold(name, entries, state, path, DRAWN_LEVELS)
        if entries:
            found.append(Facet(name, entries, name in HIERARCHICAL))
    return found


def label(facet: str, value: FacetValue | None, iri: str, short: str) -> str:
    """What a facet value is called on the page: a JEL code before its label, a language's
    English name."""
    text = value.label if value is not None else iri
    if facet == "jel" and short != iri and not text.startswith(short):
        return f"{short} {text}"
    if facet == "language" and text == iri:
        return language_name(short)
    return text


def language_name(code: str) -> str:
    """The English name of an ISO 639 code (the code when it is not one)."""
    found = pycountry.languages.get(alpha_2=code) if len(code) == 2 else \
        pycountry.languages.get(alpha_3=code)
    return found.name if found is not None else code


def _entry(name: str, value: FacetValue, state: SearchState, shorten: Shorten) -> FacetEntry:
    short = shorten(name, value.value)
    return FacetEntry(short, value.value, label(name, value, value.value, short), value.count,
                      state.selected(name, short))


def _tree(entries: Iterable[FacetEntry], parents: dict[str, str | None],
          code_order: bool) -> list[FacetEntry]:
    """Entries under their parents; those whose parent is not among them are roots."""
    listed = list(entries)
    by_iri = {entry.iri: entry for entry in listed}
    roots: list[FacetEntry] = []
    for entry in listed:
        parent = by_iri.get(parents.get(entry.iri) or "")
        (parent.children if parent is not None and parent is not entry else roots).append(entry)
    if code_order:
        _sort(roots)
    return roots


def _fold(name: str, entries: list[FacetEntry], state: SearchState, path: str,
          levels: int) -> None:
    """Leave undrawn the branches below ``levels`` that hold no ticked value."""
    for entry in entries:
        if levels <= 1 and entry.children and not (entry.selected or entry.open):
            entry.folded, entry.children = len(entry.children), []
            entry.expand_href = state.toggled(name, entry.value).href(path)
        else:
            _fold(name, entry.children, state, path, levels - 1)


def _sort(entries: list[FacetEntry]) -> None:
    entries.sort(key=lambda entry: entry.value)
    for entry in entries:
        _sort(entry.children)
