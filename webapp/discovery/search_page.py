"""``GET /search``: the search page, rendered on the server (JavaScript only applies a ticked
facet at once): ranked hits with highlighted passages, the facets with their counts, the
active filters as removable chips, sorting, pages, and advice when nothing is found. The URL
holds the whole search (the parameters of ``/api/search``); one that says it another way
(empty fields, names for keys) is redirected to the way the page writes it.

``GET /search/advanced``: a form of fields (title, author, abstract, JEL, division, region,
type, years, language) that answers with the same search's URL.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from policykg.graph.search.request import MAX_PAGE, SORTS, RequestError, SearchRequest
from policykg.graph.search.service import FacetValue, SearchPage
from policykg.webapp.api.search import app_search, search_request
from policykg.webapp.context import app_uris
from policykg.webapp.discovery import advanced
from policykg.webapp.discovery.advice import advice, years_label
from policykg.webapp.discovery.charts import Chart, coauthor_network, per_year, top_level
from policykg.webapp.discovery.facets import label, language_name, sidebar
from policykg.webapp.discovery.state import SearchState, shortener

blueprint = Blueprint("discovery", __name__)
PAGE_WINDOW = 2  # page numbers shown either side of the current one


@blueprint.app_template_filter("doc_href")
def doc_href(iri: str) -> str:
    """Where a link to a thing goes: its page on this server (an IRI under the base), else
    the IRI."""
    base = app_uris().base
    if iri.startswith(base + "id/"):
        return f"{request.script_root}/doc/{iri[len(base) + 3:]}"
    return iri


@blueprint.app_template_global("charts_installed")
def charts_installed() -> bool:
    """Whether the charts' library is where pages load it from (static/charts/, assets.py)."""
    return (Path(current_app.static_folder or "") / "charts" / "chart.umd.min.js").is_file()


@blueprint.get("/search")
def search() -> Response | WerkzeugResponse:
    """The search page of the URL's search."""
    started = time.perf_counter()
    try:
        asked = search_request(request.args)
    except RequestError as error:
        body = render_template("search.html", title="Search", error=error, state=SearchState(),
                               sorts=SORTS)
        return Response(body, status=400, mimetype="text/html")
    shorten = shortener(app_uris())
    state = SearchState.of(asked, shorten)
    path = request.script_root + request.path
    if Counter(request.args.items(multi=True)) != Counter(state.pairs()):
        return redirect(state.href(path), 302)
    page = app_search().search(asked)
    body = render_template("search.html", title=_title(state), **_context(page, state, path))
    response = Response(body, mimetype="text/html")
    response.headers["Server-Timing"] = f"page;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


@blueprint.get("/search/advanced")
def advanced_search() -> str | WerkzeugResponse:
    """The advanced search form; submitted, the search it asks for."""
    if request.args:
        try:
            return redirect(advanced.search_href(request.args,
                                                 request.script_root + "/search"), 303)
        except RequestError as error:
            return Response(render_template("search_advanced.html", title="Advanced search",
                                            error=error, **advanced.form_context()),
                            status=400, mimetype="text/html")
    return render_template("search_advanced.html", title="Advanced search",
                           **advanced.form_context())


def _title(state: SearchState) -> str:
    return f"{state.q} · Search" if state.q else "Search"


def _context(page: SearchPage, state: SearchState, path: str) -> dict[str, Any]:
    asked = page.request
    shorten = shortener(app_uris())
    labels = _labels(page, asked)
    ticked = {(name, shorten(name, iri)): labels.get(iri, iri)
              for name, iris in asked.filters.items() for iri in iris}
    facets = sidebar(page.facets, state, shorten, path, ticked)
    context: dict[str, Any] = {
        "state": state, "path": path, "page": page, "sorts": SORTS, "facets": facets,
        "chips": _chips(asked, state, shorten, labels, path),
        "years": _years(page), "pager": _pager(state, page.pages, path),
        "sort_hrefs": {name: state.href(path, sort=name, page=1) for name in SORTS},
        "advice": [], "charts": _charts(page, state, path),
    }
    if page.total == 0 and state.narrowed:
        context["advice"] = advice(app_search().engine, asked, state, shorten, labels, path)
    return context


def _charts(page: SearchPage, state: SearchState, path: str) -> list[Chart]:
    """The results per year, by JEL area (a bar narrows the search to it) and the co-authors
    among the hits of this page."""
    shorten = shortener(app_uris())

    def narrowed(value: FacetValue) -> str | None:
        short = shorten("jel", value.value)
        return None if state.selected("jel", short) else state.toggled("jel", short).href(path)

    found = [per_year(page.facets.get("year", []), "Results per year"),
             top_level(page.facets.get("jel", []), "jel", "Results by JEL area", "JEL code",
                       lambda value: label("jel", value, value.value,
                                           shorten("jel", value.value)), narrowed),
             coauthor_network(page.hits, "Co-authors among the results of this page")]
    return [chart for chart in found if chart is not None]


def _labels(page: SearchPage, asked: SearchRequest) -> dict[str, str]:
    """The label of every filter value asked for (read from the facets, else the store)."""
    labels = {value.value: value.label for values in page.facets.values() for value in values}
    missing = {iri for name, iris in asked.filters.items() if name != "language"
               for iri in iris if iri not in labels}
    if missing:
        labels.update(app_search().labels(missing, "en"))
    for iri in asked.filters.get("language", ()):
        labels[iri] = language_name(iri.rstrip("/").rsplit("/", 1)[-1])
    for iri in asked.filters.get("jel", ()):
        code = shortener(app_uris())("jel", iri)
        if not labels.get(iri, "").startswith(code):
            labels[iri] = f"{code} {labels.get(iri, '')}".strip()
    return labels


def _chips(asked: SearchRequest, state: SearchState, shorten: Any, labels: dict[str, str],
           path: str) -> list[dict[str, str]]:
    """The active filters, each with the search without it."""
    chips = [{"kind": "words", "label": state.q, "href": state.without_words().href(path)}] \
        if state.q else []
    for name, iris in asked.filters.items():
        for iri in dict.fromkeys(iris):
            chips.append({"kind": name, "label": labels.get(iri, iri),
                          "href": state.toggled(name, shorten(name, iri)).href(path)})
    if asked.years is not None:
        chips.append({"kind": "years", "label": years_label(asked),
                      "href": state.without_years().href(path)})
    return chips


def _years(page: SearchPage) -> dict[str, Any]:
    """The year range the results span, and their counts per year (newest first)."""
    counted = [(int(value.value), value.count) for value in page.facets.get("year", [])
               if value.value.isdigit()]
    years = [year for year, _ in counted]
    return {"counts": counted, "first": min(years, default=None),
            "last": max(years, default=None)}


def _pager(state: SearchState, pages: int, path: str) -> dict[str, Any]:
    """Links to the first, previous, nearby, next and last pages."""
    last = max(1, min(pages, MAX_PAGE // state.size))
    current = min(state.page, last)
    numbers = sorted({1, last, *range(max(1, current - PAGE_WINDOW),
                                      min(last, current + PAGE_WINDOW) + 1)})
    links = []
    for number, following in zip(numbers, [*numbers[1:], None], strict=True):
        links.append({"number": number, "href": state.href(path, page=number),
                      "current": number == current})
        if following is not None and following > number + 1:
            links.append({"gap": True})
    return {"links": links if last > 1 else [], "current": current, "last": last,
            "prev": state.href(path, page=current - 1) if current > 1 else None,
            "next": state.href(path, page=current + 1) if current < last else None}
