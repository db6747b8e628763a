"""The advanced search form: words in one field each (title, author, abstract, keyword, or
anywhere), a value of each facet, and years, made into the search page's URL: the words as the
search syntax's fields (``title:pension title:"informal work"``), the rest as its filters.

    search_href(MultiDict({"title": "informal work", "jel": "J"}), "/search")
    # -> /search?q=title:informal+title:work&jel=J
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

from policykg.graph.search.request import RequestError, SearchRequest
from policykg.graph.search.service import FacetValue
from policykg.webapp.api.search import app_search, search_request
from policykg.webapp.context import app_uris
from policykg.webapp.discovery.facets import label
from policykg.webapp.discovery.state import SearchState, shortener

TEXT_FIELDS = ("all", "title", "author", "abstract", "keyword")  # "all": no field named
CHOICES = ("type", "jel", "division", "region", "language")
PASSED = (*CHOICES, "year_from", "year_to", "sort")
_PART = re.compile(r'"[^"]*"?|[^\s"]+')


def field_query(field: str, text: str) -> str:
    """The words of a field's box in the search syntax: each word, or "quoted phrase", looked
    for in that field (``all``: in any)."""
    parts = []
    for part in _PART.findall(text):
        cleaned = part if part.startswith('"') else part.lstrip("-+").replace(":", " ")
        if not cleaned.strip('"').strip():
            continue
        parts.append(cleaned if field == "all" else f"{field}:{cleaned}")
    return " ".join(parts)


def search_href(args: Any, path: str) -> str:
    """The search page's URL of a submitted form (RequestError naming a bad field)."""
    unknown = sorted(set(args) - set(TEXT_FIELDS) - set(PASSED))
    if unknown:
        raise RequestError(unknown[0], "no such field of the advanced search")
    words = " ".join(query for name in TEXT_FIELDS
                     if (query := field_query(name, " ".join(args.getlist(name)))))
    pairs = [("q", words)] if words else []
    pairs += [(name, value) for name in PASSED for value in args.getlist(name) if value.strip()]
    asked = search_request(MultiDict(pairs))
    return SearchState.of(asked, shortener(app_uris())).href(path)


def form_context() -> dict[str, Any]:
    """The choices of the form: every value of each facet the collection holds, a hierarchy's
    values indented under their parents."""
    found = app_search().search(SearchRequest(size=1))
    shorten = shortener(app_uris())
    return {"choices": {name: _options(name, found.facets.get(name, []), shorten)
                        for name in CHOICES},
            "text_fields": TEXT_FIELDS}


def _options(name: str, values: list[FacetValue], shorten: Any) -> list[dict[str, Any]]:
    parents = {value.value: value.parent for value in values}
    children: dict[str | None, list[FacetValue]] = {}
    for value in values:
        parent = value.parent if value.parent in parents else None
        children.setdefault(parent, []).append(value)
    options: list[dict[str, Any]] = []

    def walk(parent: str | None, depth: int) -> None:
        ordered = sorted(children.get(parent, []), key=lambda v: (
            shorten(name, v.value) if name == "jel" else label(name, v, v.value, "").lower()))
        for value in ordered:
            short = shorten(name, value.value)
            options.append({"value": short, "label": label(name, value, value.value, short),
                            "depth": depth, "count": value.count})
            if depth < 6:
                walk(value.value, depth + 1)

    walk(None, 0)
    return options
