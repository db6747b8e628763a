"""Charts in a real browser (tests/browser.py): a page's charts are drawn (a labelled canvas,
no console error), and each one's data table, folded under "Data", opens with the counts of
the search the page made. axe-core's checks of the pages with charts (home, search, person)
are test_search_browser's."""

from __future__ import annotations

import json
from typing import Any
from urllib.request import urlopen

Page = Any


def api(site: Any, query: str) -> dict:
    with urlopen(f"{site.url}/api/search?{query}") as reply:
        return json.load(reply)


def drawn(page: Page) -> list[dict]:
    """Each chart section's canvas: its label, size and the data Chart.js holds for it."""
    return page.evaluate("""() => [...document.querySelectorAll("[data-chart]")].map(s => {
        const canvas = s.querySelector("canvas[role=img]");
        const chart = canvas && Chart.getChart(canvas);
        return {name: s.id, label: canvas && canvas.getAttribute("aria-label"),
                width: canvas ? canvas.width : 0,
                values: chart ? chart.data.datasets[0].data : null};
    })""")


def test_a_persons_charts_are_drawn_and_their_data_opens_with_the_searchs_counts(
        browser_page: Page, discovery_site: Any):
    authors = api(discovery_site, "facets=true")["facets"]["author"]
    person = authors[0]["value"].rsplit("/", 1)[-1]
    browser_page.goto(f"{discovery_site.url}/doc/person/{person}")
    charts = {chart["name"]: chart for chart in drawn(browser_page)}
    assert set(charts) == {"chart-years", "chart-coauthors"}
    assert all(chart["width"] > 0 and chart["label"] for chart in charts.values())
    counted = {value["value"]: value["count"] for value in
               api(discovery_site, f"author={person}")["facets"]["year"]}
    assert sum(charts["chart-years"]["values"]) == sum(counted.values())
    table = browser_page.locator("#chart-years table")
    assert not table.is_visible()  # folded once the chart is drawn
    browser_page.click("#chart-years details.chart-data summary")
    assert table.is_visible()
    rows = table.locator("tbody tr").all_inner_texts()
    assert {row.split("\t")[0]: int(row.split("\t")[1]) for row in rows} == counted


def test_the_search_results_charts_are_drawn_and_a_jel_bar_narrows_the_search(
        browser_page: Page, discovery_site: Any):
    browser_page.goto(f"{discovery_site.url}/search?q=policy")
    charts = {chart["name"]: chart for chart in drawn(browser_page)}
    assert {"chart-years", "chart-jel", "chart-network"} <= set(charts)
    assert all(chart["width"] > 0 for chart in charts.values())
    top = [value for value in api(discovery_site, "q=policy")["facets"]["jel"]
           if "parent" not in value]
    assert sorted(charts["chart-jel"]["values"], reverse=True) == \
        sorted((value["count"] for value in top), reverse=True)


COUNT_BY_TYPE = """PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX pkg: <https://w3id.org/policykg/ontology#>
SELECT ?type (COUNT(?publication) AS ?publications)
WHERE { ?publication a pkg:Publication ; dcterms:type ?type }
GROUP BY ?type ORDER BY DESC(?publications)"""


def test_a_sparql_result_table_is_drawn_as_a_chart_in_the_page(
        browser_page: Page, discovery_site: Any):
    browser_page.goto(f"{discovery_site.url}/sparql")
    browser_page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror"
                          ".setValue(text)", COUNT_BY_TYPE)
    browser_page.click(".yasqe_queryButton")
    browser_page.click(".yasr .select_chart")
    canvas = browser_page.locator(".yasr figure.sparql-chart canvas[role=img]")
    canvas.wait_for()
    assert "?publications by ?type" in canvas.get_attribute("aria-label")
    values = browser_page.evaluate(
        "() => Chart.getChart(document.querySelector('.sparql-chart canvas')).data"
        ".datasets[0].data")
    types = api(discovery_site, "facets=true")["facets"]["type"]
    assert values == sorted((value["count"] for value in types), reverse=True)
