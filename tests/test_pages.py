"""The HTML pages people read: one per kind, showing what a reader looks for, every value
escaped, and schema.org JSON-LD embedded. Served over the store of test_linked_data (the sample,
a second publication by Rabellotti, and one whose title holds a <script> element).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from html import unescape
from itertools import combinations
from urllib.parse import unquote

from test_linked_data import SCRIPT_TITLE, TITLE, Site
from test_linked_data import site as site  # the shared session fixture

SEP = " \u203a "  # between the steps of a chain (broader, place in the Bank)


def chain(*steps: str) -> str:
    return SEP.join(steps)


def html(site: Site, path: str) -> str:
    response = site.client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, path
    assert response.mimetype == "text/html"
    return response.text


def text(page: str) -> str:
    """The visible text of a page, tags removed, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


def jsonld(page: str) -> dict:
    (found,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return json.loads(found)


def chart_rows(page: str, name: str) -> list[tuple[str, str]]:
    """The rows of a chart's data table: (what is counted, its count), as shown."""
    (section,) = re.findall(rf'<section class="chart[^"]*" id="chart-{name}".*?</section>',
                            page, re.S)
    (body,) = re.findall(r"<tbody>(.*?)</tbody>", section, re.S)
    return [(text(head).strip(), text(count).strip()) for head, count in
            re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(.*?)</td></tr>", body, re.S)]


def chart_csv(page: str, name: str) -> list[list[str]]:
    """The CSV a chart's data link holds."""
    (href,) = re.findall(rf'<a href="(data:text/csv[^"]*)" download="{name}.csv"', page)
    return list(csv.reader(io.StringIO(unquote(unescape(href).split(",", 1)[1]))))


def facet_counts(site: Site, query: str, facet: str, top: bool = False) -> dict[str, int]:
    """What /api/search counts of a facet (``top``: only the values at the top of its tree)."""
    values = site.client.get(f"/api/search?{query}").get_json()["facets"][facet]
    return {value["value"]: value["count"] for value in values
            if not (top and "parent" in value)}


def test_publication_page(site):
    page = html(site, "/doc/publication/IDB-LM-00577")
    shown = text(page)
    assert f"<h1>{TITLE}</h1>" in page
    assert re.search(r"by Roberta Rabellotti and Elisa Conz", shown)  # bibo:authorList order
    assert 'href="/doc/person/rabellotti-roberta"' in page
    assert chain("Inter-American Development Bank", "Institutions for Development Sector",
                 "Competitiveness, Technology and Innovation Division") in shown
    assert chain("Americas", "Latin America and the Caribbean", "Caribbean") in shown
    assert chain("O Economic Development, Innovation, Technological Change, and Growth",
                 "O3 Innovation; Research and Development; Technological Change; Intellectual "
                 "Property Rights", "O31 Innovation and Invention: Processes and Incentives") \
        in shown
    assert "regional ecosystem" in shown and "Cluster Development" in shown
    assert 'href="https://doi.org/10.18235/0004771"' in page
    assert 'class="pdf" href="https://publications.iadb.org/' in page
    for fact in ("dspace-page", "Content hash", "Loaded at", "dspace-page-IDB-LM-00577.txt"):
        assert fact in shown


def test_publication_page_embeds_schema_org_json_ld(site):
    data = jsonld(html(site, "/doc/publication/IDB-LM-00577"))
    assert data["@context"] == "https://schema.org"
    assert "CreativeWork" in data["@type"]
    assert data["@id"] == site.iri("id/publication/IDB-LM-00577")
    assert data["name"] == TITLE
    assert [a["name"] for a in data["author"]] == ["Roberta Rabellotti", "Elisa Conz"]
    assert {"@type": "PropertyValue", "propertyID": "DOI", "value": "10.18235/0004771"} in \
        data["identifier"]
    assert data["datePublished"] == "2023-03-08"


def test_markup_in_values_is_shown_as_text(site):
    page = html(site, "/doc/publication/IDB-LM-01000")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>markup</b>" not in page
    assert jsonld(page)["name"] == SCRIPT_TITLE  # "</" escaped inside the script element
    assert "<\\/script>" in page
    person = html(site, "/doc/person/tester-tina")
    assert "<script>alert(1)</script>" not in person and "&lt;script&gt;" in person


def test_person_page(site):
    page = html(site, "/doc/person/rabellotti-roberta")
    shown = text(page)
    assert "<h1>Roberta Rabellotti</h1>" in page
    assert TITLE in shown and "Clusters and Value Chains in Jamaica" in shown
    coauthors = shown.split("Co-authors", 1)[1]
    assert "Elisa Conz 1" in coauthors and "Carlo Pietrobelli 1" in coauthors
    areas = shown.split("JEL areas", 1)[1]
    assert "O31 Innovation and Invention" in areas and "O12 Microeconomic Analyses" in areas
    assert jsonld(page)["@type"] == "Person"


def test_jel_page_shows_hierarchy_and_publications_of_narrower_codes(site):
    top = text(html(site, "/doc/jel/O"))
    for code in ("O1 Economic Development", "O3 Innovation", "O5 Economywide Country Studies"):
        assert code in top.split("Narrower", 1)[1]
    publications = top.split("narrower codes included", 1)[1]
    assert TITLE in publications and "Clusters and Value Chains in Jamaica" in publications
    leaf = html(site, "/doc/jel/O31")
    assert "Broader" in leaf and "O3 Innovation; Research" in text(leaf)
    assert TITLE in text(leaf) and "Clusters and Value Chains in Jamaica" not in text(leaf)
    assert jsonld(leaf)["termCode"] == "O31"


def test_region_page_shows_sub_regions_and_their_publications(site):
    shown = text(html(site, "/doc/region/caribbean"))
    assert chain("Americas", "Latin America and the Caribbean") in shown
    assert "Jamaica" in shown.split("Contains", 1)[1]
    publications = shown.split("places within included", 1)[1]
    assert TITLE in publications and "Clusters and Value Chains in Jamaica" in publications


def test_division_page_shows_its_place_and_publications_per_year(site):
    page = html(site, "/doc/org/ifd-cti")
    shown = text(page)
    assert "Place in the Bank " + chain("Inter-American Development Bank",
                                        "Institutions for Development") in shown
    assert chart_rows(page, "years") == [("2021", "1"), ("2022", "1"), ("2023", "1")]
    assert jsonld(page)["parentOrganization"][0]["@id"] == site.iri("id/org/ifd")


def test_generic_pages_list_what_links_to_them(site):
    for path in ("/doc/keyword/cluster", "/doc/operation/RG-E1776", "/doc/subject/tourism",
                 "/doc/doctype/learning-materials"):
        shown = text(html(site, path))
        assert TITLE in shown.split("Links to this", 1)[1], path
    assert "Clusters and Value Chains in Jamaica" in text(html(site, "/doc/keyword/cluster"))


def test_pages_link_to_documents_and_offer_the_other_formats(site):
    page = html(site, "/doc/publication/IDB-LM-00577")
    assert 'href="/doc/jel/O31"' in page and 'href="/doc/region/caribbean"' in page
    assert '<link rel="alternate" type="text/turtle" href="/doc/publication/IDB-LM-00577.ttl">' \
        in page
    assert 'href="/static/style.css"' in page


def test_listings_and_the_browse_page(site):
    assert "People" in html(site, "/doc/")
    people = html(site, "/doc/person/")
    assert 'href="/doc/person/rabellotti-roberta"' in people and "Carlo Pietrobelli" in people


def publications_section(page: str) -> str:
    return text(page.split('class="publication-list"', 1)[1].split("</section>", 1)[0])


def test_a_persons_publications_are_counted_and_newest_first(site):
    shown = publications_section(html(site, "/doc/person/rabellotti-roberta"))
    assert "2 publications, newest first" in shown
    assert shown.index(TITLE) < shown.index("Clusters and Value Chains in Jamaica")  # 2023, 2021


def test_publication_lists_are_paged_with_their_count(site):
    site.app.config["LINKED_DATA_PAGE_SIZE"] = 1
    try:
        first = publications_section(html(site, "/doc/jel/O"))
        second = html(site, "/doc/jel/O?page=2")
    finally:
        site.app.config.pop("LINKED_DATA_PAGE_SIZE")
    assert "3 publications, newest first · page 1 of 3" in first
    assert TITLE in first  # 2023
    shown = publications_section(second)
    assert "page 2 of 3" in shown and SCRIPT_TITLE in shown  # 2022
    assert 'rel="next" href="/doc/jel/O?page=3"' in second


def test_a_list_links_to_the_same_list_on_the_search_page_to_narrow_it(site):
    page = html(site, "/doc/org/ifd-cti")
    assert 'href="/search?division=ifd-cti&amp;sort=newest"' in page
    assert '<input type="hidden" name="division" value="ifd-cti">' in page
    found = site.client.get("/search?division=ifd-cti&sort=newest").text
    assert "3 results" in text(found)


def test_subject_operation_and_keyword_pages_list_their_publications(site):
    for path, count in (("/doc/subject/tourism", 1), ("/doc/operation/RG-E1776", 1),
                        ("/doc/keyword/cluster", 2)):
        shown = publications_section(html(site, path))
        assert f"{count} publication" in shown and TITLE in shown, path


def test_the_publication_listing_shows_years_and_authors_newest_first(site):
    shown = text(html(site, "/doc/publication/"))
    assert "3 publications, newest first" in shown
    assert shown.index(TITLE) < shown.index(SCRIPT_TITLE) \
        < shown.index("Clusters and Value Chains in Jamaica")
    assert "Roberta Rabellotti ; Elisa Conz 2023" in shown


def test_the_jel_listing_shows_codes_in_order(site):
    shown = text(html(site, "/doc/jel/"))
    assert "A General Economics and Teaching" in shown
    assert shown.index("A1 General Economics") < shown.index("A10 General")


def test_a_things_publications_per_year_are_a_chart_whose_table_and_csv_are_the_search_counts(
        site):
    for path, query in (("/doc/org/ifd-cti", "division=ifd-cti"),
                        ("/doc/region/caribbean", "region=caribbean"),
                        ("/doc/jel/O", "jel=O"),
                        ("/doc/person/rabellotti-roberta", "author=rabellotti-roberta"),
                        ("/doc/keyword/cluster", "keyword=cluster")):
        page = html(site, path)
        counted = facet_counts(site, query, "year")
        rows = chart_rows(page, "years")
        assert {year: int(count) for year, count in rows} == counted, path
        assert [year for year, _ in rows] == sorted(counted), path  # oldest first
        assert chart_csv(page, "years") == [["Year", "Publications"],
                                            *([year, count] for year, count in rows)], path


def test_a_units_and_a_regions_jel_areas_are_charted_from_their_search(site):
    for path, query in (("/doc/org/ifd-cti", "division=ifd-cti"),
                        ("/doc/region/caribbean", "region=caribbean")):
        page = html(site, path)
        top = facet_counts(site, query, "jel", top=True)
        rows = chart_rows(page, "jel")
        assert [count for _, count in rows] == sorted((str(c) for c in top.values()),
                                                      key=int, reverse=True), path
        assert rows[0][0].startswith("O Economic Development"), path
        assert '<a href="/doc/jel/O">O Economic Development' in page


def test_a_persons_coauthors_are_a_network_whose_table_counts_their_publications_together(
        site):
    page = html(site, "/doc/person/rabellotti-roberta")
    rows = chart_rows(page, "coauthors")
    assert ("Elisa Conz", "1") in rows and ("Carlo Pietrobelli", "1") in rows
    assert "Roberta Rabellotti" not in dict(rows)
    data = json.loads(unescape(re.search(
        r'<script type="application/json" class="chart-json">(.*?)</script>',
        page.split('id="chart-coauthors"', 1)[1], re.S).group(1)))
    assert data["kind"] == "network"
    assert ["Roberta Rabellotti", "Elisa Conz", 1] in data["links"]
    assert 'role="img"' not in page  # the canvas is the script's: without it, the table


def test_only_pages_with_a_chart_load_the_charts_script(site):
    assert "/static/charts/chart.umd.min.js" in html(site, "/doc/person/rabellotti-roberta")
    assert "/static/charts.js" in html(site, "/doc/org/ifd-cti")
    publication = html(site, "/doc/publication/IDB-LM-00577")
    assert "charts.js" not in publication and "chart.umd" not in publication


def test_the_coauthors_among_a_search_pages_hits_are_a_network_of_pairs(site):
    page = html(site, "/search?author=rabellotti-roberta")
    hits = site.client.get("/api/search?author=rabellotti-roberta").get_json()["hits"]
    pairs = Counter(pair for hit in hits
                    for pair in combinations(sorted({a["name"] for a in hit["authors"]}), 2))
    assert pairs[("Elisa Conz", "Roberta Rabellotti")] == 1
    assert sorted(chart_rows(page, "network")) == sorted(
        (f"{a} and {b}", str(count)) for (a, b), count in pairs.items())


def test_the_home_page_charts_the_whole_collection_per_year_jel_area_and_division(site):
    page = html(site, "/")
    every = site.client.get("/api/search").get_json()["facets"]
    years = {value["value"]: str(value["count"]) for value in every["year"]}
    assert chart_rows(page, "years") == sorted(years.items())
    top = {value["label"]: value["count"] for value in every["jel"] if "parent" not in value}
    assert sorted(int(count) for _, count in chart_rows(page, "jel")) == sorted(top.values())
    divisions = dict(chart_rows(page, "division"))
    assert "Inter-American Development Bank" not in divisions  # the level that parts them
    assert divisions and all(int(count) > 0 for count in divisions.values())
    assert "/static/charts.js" in page
