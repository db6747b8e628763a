"""The search page and the advanced search as HTML, on the small corpus of test_search, on
both stores: hits with their highlights and links, facets as trees, chips, a canonical URL,
advice when nothing is found, and 400 naming a bad parameter."""

from __future__ import annotations

import re
from html import unescape

import pytest
from conftest import LiveServer, fetch
from test_search import corpus as corpus  # the module's fixtures
from test_search import search
from test_search import server as server

BACKENDS = ("oxigraph", "virtuoso")
REMOTE_STATES = {"corpus": "search corpus"}


def page(server: LiveServer, query: str) -> str:
    reply = fetch(server.url + "/search" + query)
    assert reply.status == 200, reply.text
    assert reply.media == "text/html"
    return reply.text


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def chart_rows(html: str, name: str) -> list[tuple[str, int]]:
    """The rows of a chart's data table: (what is counted, its count)."""
    section = html.split(f'id="chart-{name}"', 1)[1].split("</section>", 1)[0]
    return [(text(head).strip(), int(count.replace(",", ""))) for head, count in
            re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', section, re.S)]


def test_hits_show_highlighted_titles_and_link_authors_type_and_division(server: LiveServer):
    html = page(server, "?q=retirement+income")
    first = html.split('<li class="hit">')[1]
    assert '<a href="/doc/publication/IDB-WP-001">' in first
    assert "<mark>retirement</mark>" in first and "<mark>income</mark>" in first
    assert '<a href="/doc/person/perez-javier">Javier Pérez</a>' in first
    assert 'href="/doc/doctype/working-papers">Working Papers</a>' in first
    assert 'class="division" href="/doc/org/' in first
    assert "2020" in text(first)


def test_markup_typed_in_the_query_is_shown_as_text(server: LiveServer):
    html = page(server, "?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_facets_count_values_and_nest_narrower_ones_under_broader(server: LiveServer):
    html = page(server, "")
    jel = html.split('class="facet facet-jel"')[1].split("</fieldset>")[0]
    assert jel.index('id="f-jel-J"') < jel.index('id="f-jel-J2"')
    assert 'id="f-jel-J26"' not in jel  # a third level is drawn once its branch is ticked
    assert 'class="expand" href="/search?jel=J2">1 within' in jel
    ticked = page(server, "?jel=J2")
    jel = ticked.split('class="facet facet-jel"')[1].split("</fieldset>")[0]
    assert re.search(r'id="f-jel-J26".*?<span class="count">2</span>', jel, re.S)
    assert "J26 Retirement" in text(jel)
    types = text(html.split('class="facet facet-type"')[1].split("</fieldset>")[0])
    assert "Working Papers 2" in types


def test_ticked_values_are_checked_and_shown_as_chips_that_remove_them(server: LiveServer):
    html = page(server, "?q=pension&jel=J26&year_from=2019")
    assert re.search(r'id="f-jel-J26"[^>]*checked', html)
    chips = html.split('<ul class="chips"')[1].split("</ul>")[0]
    assert 'href="/search?q=pension&amp;year_from=2019"' in chips  # without J26
    assert 'href="/search?q=pension&amp;jel=J26"' in chips  # without the years
    assert 'href="/search?jel=J26&amp;year_from=2019"' in chips  # without the words
    assert "J26 Retirement" in text(chips)


def test_a_search_said_another_way_is_redirected_to_the_url_the_page_writes(
        server: LiveServer):
    reply = fetch(server.url + "/search?q=pension&region=Latin+America&sort=relevance"
                  "&year_from=&page=1")
    assert reply.status == 302
    assert reply.headers["Location"].endswith("/search?q=pension&region=latin-america")


def test_the_sort_links_and_pages_keep_the_search(server: LiveServer):
    html = page(server, "?jel=J&sort=oldest&size=2")
    assert 'aria-current="page">1<' in html
    assert 'rel="next" href="/search?jel=J&amp;sort=oldest&amp;size=2&amp;page=2"' in html
    assert text(html).count("Technical Notes") >= 1 and "2018" in text(html)


def test_an_empty_result_counts_what_dropping_each_filter_would_find(server: LiveServer):
    html = page(server, "?q=pensiones&type=technical-notes&region=BR")
    region = html.split('class="facet facet-region"')[1].split("</fieldset>")[0]
    assert re.search(r'value="BR" checked>\s*<label for="f-region-BR">Brazil</label>', region)
    shown = text(html.split('class="advice"')[1]).replace(" :", ":")
    assert "without region or country Brazil: 1 result" in shown
    assert "without the words “pensiones”: 1 result" in shown
    assert "without document type Technical Notes: still none" in shown
    words = text(page(server, "?q=informal+zzzxq")).replace(" :", ":")
    assert "without the word “zzzxq”: 4 results" in words
    assert "without the word “informal”: still none" in words


@pytest.mark.parametrize("query, parameter", [("?sort=best", "sort"), ("?jel=Z99", "jel"),
                                              ("?page=x", "page"), ("?colour=red", "colour")])
def test_a_bad_parameter_answers_400_naming_it(server: LiveServer, query: str, parameter: str):
    reply = fetch(server.url + "/search" + query)
    assert reply.status == 400 and reply.media == "text/html"
    assert f"cannot be made: {parameter}:" in text(reply.text)


def test_the_advanced_form_answers_with_the_search_url(server: LiveServer):
    form = fetch(server.url + "/search/advanced")
    assert form.status == 200
    assert '<option value="J26">' in form.text.replace("\u2003", "")
    reply = fetch(server.url + "/search/advanced?all=&title=informal+%22latin+america%22"
                  "&author=perez&jel=J&year_from=2019&year_to=&language=en")
    assert reply.status == 303
    assert reply.headers["Location"].endswith(
        "/search?q=title%3Ainformal+title%3A%22latin+america%22+author%3Aperez"
        "&jel=J&language=en&year_from=2019")
    found = page(server, reply.headers["Location"].split("/search", 1)[1])
    assert "1 result" in text(found) and "IDB-WP-001" in found
    bad = fetch(server.url + "/search/advanced?colour=red")
    assert bad.status == 400 and "colour" in bad.text


def test_every_page_has_the_search_box(server: LiveServer):
    for path in ("/", "/doc/", "/doc/person/perez-javier", "/search"):
        html = fetch(server.url + path, headers={"Accept": "text/html"}).text
        assert '<form class="site-search" role="search" action="/search"' in html, path


def test_the_results_are_charted_per_year_and_by_jel_area_with_the_counts_of_their_facets(
        server: LiveServer):
    html = page(server, "?q=pensions")
    counted = search(server, q="pensions")["facets"]
    years = {value["value"]: value["count"] for value in counted["year"]}
    assert chart_rows(html, "years") == sorted((year, count) for year, count in years.items())
    top = [(value["label"], value["count"]) for value in counted["jel"] if "parent" not in value]
    rows = chart_rows(html, "jel")
    assert sorted(count for _, count in rows) == sorted(count for _, count in top)
    assert [count for _, count in rows] == sorted((count for _, count in rows), reverse=True)
    assert any(label.startswith("J Labor") for label, _ in rows)
    assert 'href="/search?q=pensions&amp;jel=J">J Labor' in html  # a bar narrows the search
    assert "/static/charts.js" in html


def test_a_search_without_results_draws_no_chart(server: LiveServer):
    html = page(server, "?q=zzzzunfindable")
    assert "data-chart" not in html and "/static/charts.js" not in html


def test_single_authors_make_no_coauthor_network(server: LiveServer):
    html = page(server, "?q=pensions")  # each publication of the corpus has one author
    assert 'id="chart-network"' not in html
