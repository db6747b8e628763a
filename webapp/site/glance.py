"""The collection at a glance, for the home page: its publications per year, per JEL area
and per division, counted by the text index's facets over every publication (one search),
counted again only when the home page's statistics are (dataset.py: the store has changed).

    charts = collection_charts(statistics())   # [] while the graph holds no publication
"""

from __future__ import annotations

from flask import current_app

from policykg.graph.search.request import SearchRequest
from policykg.graph.search.service import FacetValue
from policykg.webapp.api.search import app_search
from policykg.webapp.context import app_uris
from policykg.webapp.discovery.charts import Chart, per_year, top_level
from policykg.webapp.discovery.facets import label
from policykg.webapp.discovery.search_page import doc_href
from policykg.webapp.discovery.state import shortener

COUNTED = ("year", "jel", "division")
CACHE = "policykg.glance"


def collection_charts(statistics: object) -> list[Chart]:
    """The charts of the collection whose ``statistics`` these are: counted once for them."""
    cached = current_app.extensions.get(CACHE)
    if cached is not None and cached[0] is statistics:
        return cached[1]
    charts = count_charts()
    current_app.extensions[CACHE] = (statistics, charts)
    return charts


def count_charts(language: str = "en") -> list[Chart]:
    """Publications per year, by JEL area and by division (each bar links to its page)."""
    found = app_search().search(SearchRequest(sort="newest", size=1, counted=COUNTED),
                                language)
    facets = found.facets
    shorten = shortener(app_uris())

    def jel_label(value: FacetValue) -> str:
        return label("jel", value, value.value, shorten("jel", value.value))

    charts = [per_year(facets.get("year", [])),
              top_level(facets.get("jel", []), "jel", "Publications by JEL area", "JEL code",
                        jel_label, lambda value: doc_href(value.value)),
              top_level(facets.get("division", []), "division", "Publications by division",
                        "Division", lambda value: value.label,
                        lambda value: doc_href(value.value), parting=True)]
    return [chart for chart in charts if chart is not None]
