"""The search pages in a real browser (tests/browser.py): typing a query, ticking facets,
the back button, sorting, paging, chips, the advice of an empty result, the advanced form,
the pages without JavaScript; no page logs an error, and axe-core finds no serious
accessibility violation on the home, search, publication and person pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from browser import axe_violations

Page = Any


def params(page: Page) -> list[tuple[str, str]]:
    """The query parameters of the page's URL."""
    return parse_qsl(urlsplit(page.url).query)


def total(page: Page) -> int:
    """The number of results the page says it found."""
    text = page.locator(".result-bar .total").inner_text()
    return int(re.match(r"([\d,]+) result", text).group(1).replace(",", ""))


def facet_count(page: Page, checkbox_id: str) -> int:
    """The count shown beside a facet value."""
    count = page.locator(f"#{checkbox_id} ~ .count").first.inner_text()
    return int(count.replace(",", ""))


def hit_years(page: Page) -> list[int]:
    return [int(text) for text in page.locator("li.hit .year").all_inner_texts()]


def open_search(page: Page, site: Any, query: str = "") -> None:
    page.goto(f"{site.url}/search{query}")


def test_a_query_typed_in_the_header_box_shows_ranked_highlighted_hits(
        browser_page: Page, discovery_site: Any):
    browser_page.goto(discovery_site.url + "/")
    browser_page.fill("#site-q", "informal employment pensions")
    browser_page.press("#site-q", "Enter")
    browser_page.wait_for_url("**/search?q=informal+employment+pensions")
    first = browser_page.locator("li.hit").first
    assert first.locator(".hit-title").inner_text() \
        == "Informal Employment and Pensions in Latin America"
    assert first.locator(".hit-title mark").count() >= 3
    assert "Javier Pérez" in first.locator(".authors").inner_text()
    assert first.locator(".year").inner_text() == "2020"
    first.locator(".authors a").first.click()
    browser_page.wait_for_url("**/doc/person/perez-javier")


def test_ticking_a_facet_narrows_the_results_to_its_count_and_puts_it_in_the_url(
        browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?q=policy")
    before = total(browser_page)
    expected = facet_count(browser_page, "f-type-working-papers")
    assert 0 < expected < before
    browser_page.check("#f-type-working-papers")
    browser_page.wait_for_url(re.compile(r"type=working-papers"))
    assert ("type", "working-papers") in params(browser_page)
    assert total(browser_page) == expected
    assert browser_page.is_checked("#f-type-working-papers")
    assert "Working Papers" in browser_page.locator("ul.chips").inner_text()


def test_a_narrower_jel_code_under_its_parent_narrows_further(
        browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site)
    browser_page.check("#f-jel-J")
    browser_page.wait_for_url(re.compile(r"jel=J"))
    parent = total(browser_page)
    branch = browser_page.locator("#f-jel-J ~ details.branch")
    assert branch.get_attribute("open") is None
    branch.locator("summary").first.click()
    child = branch.locator("input[type=checkbox]").first
    child_id = child.get_attribute("id")
    expected = facet_count(browser_page, child_id)
    child.check()
    browser_page.wait_for_url(re.compile(r"jel=J.*jel=J\d|jel=J\d.*jel=J"))
    assert total(browser_page) == parent  # any of J and J1: J holds its narrower codes
    browser_page.uncheck("#f-jel-J")
    browser_page.wait_for_url(lambda url: "jel=J&" not in url + "&")
    assert total(browser_page) == expected
    assert browser_page.locator(f"#{child_id}").is_visible()  # its branch stays open


def test_the_back_button_returns_to_the_search_before(browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?q=policy")
    before = total(browser_page)
    browser_page.check("#f-type-working-papers")
    browser_page.wait_for_url(re.compile(r"type=working-papers"))
    browser_page.go_back()
    browser_page.wait_for_url(re.compile(r"/search\?q=policy$"))
    assert total(browser_page) == before
    assert not browser_page.is_checked("#f-type-working-papers")
    browser_page.go_forward()
    assert ("type", "working-papers") in params(browser_page)


def test_sorting_newest_first_orders_the_hits_by_year(browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?q=policy")
    browser_page.select_option("#sort", "newest")
    browser_page.wait_for_url(re.compile(r"sort=newest"))
    years = hit_years(browser_page)
    assert len(years) == 20 and years == sorted(years, reverse=True)
    browser_page.select_option("#sort", "oldest")
    browser_page.wait_for_url(re.compile(r"sort=oldest"))
    assert hit_years(browser_page) == sorted(hit_years(browser_page))


def test_paging_goes_on_from_where_the_page_ended(browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?sort=newest")
    first_page = browser_page.locator(".hit-title").all_inner_texts()
    last_year = hit_years(browser_page)[-1]
    browser_page.click("nav.pager a[rel=next]")
    browser_page.wait_for_url(re.compile(r"page=2"))
    assert browser_page.locator("ol.hits").get_attribute("start") == "21"
    second_page = browser_page.locator(".hit-title").all_inner_texts()
    assert not set(first_page) & set(second_page)
    assert hit_years(browser_page)[0] <= last_year
    assert browser_page.locator("nav.pager [aria-current=page]").inner_text() == "2"


def test_removing_a_chip_drops_its_filter_only(browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?q=pensions&type=working-papers&year_from=2000")
    assert browser_page.locator("ul.chips li").count() == 3
    browser_page.click("ul.chips a[aria-label^='Remove Document type']")
    browser_page.wait_for_url(lambda url: "type=" not in url)
    assert params(browser_page) == [("q", "pensions"), ("year_from", "2000")]
    assert browser_page.locator("ul.chips li").count() == 2


def test_the_year_range_keeps_the_hits_within_it(browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?q=policy")
    browser_page.fill("#year_from", "2010")
    browser_page.fill("#year_to", "2015")
    browser_page.press("#year_to", "Enter")
    browser_page.wait_for_url(re.compile(r"year_from=2010&year_to=2015"))
    years = hit_years(browser_page)
    assert years and all(2010 <= year <= 2015 for year in years)


def test_an_empty_result_says_what_each_filter_dropped_would_find(
        browser_page: Page, discovery_site: Any):
    open_search(browser_page, discovery_site, "?q=previdencia&region=MX&year_from=2019")
    assert total(browser_page) == 0
    advice = browser_page.locator(".advice li")
    texts = advice.all_inner_texts()
    assert "without years from 2019: still none" in texts
    offered = next(i for i, text in enumerate(texts) if "Mexico" in text)
    assert texts[offered] == "without region or country Mexico: 1 result"
    found = [0 if text.endswith("still none") else int(re.search(r": ([\d,]+) result", text)
                                                     .group(1).replace(",", "")) for text in texts]
    assert found == sorted(found, reverse=True)  # the most found first
    advice.nth(offered).locator("a").click()
    browser_page.wait_for_url(lambda url: "region" not in url)
    assert total(browser_page) == 1
    assert browser_page.locator(".hit-title").inner_text() == "Previdência e pensões no Brasil"


def test_the_advanced_form_makes_the_search_url(browser_page: Page, discovery_site: Any):
    browser_page.goto(discovery_site.url + "/search/advanced")
    browser_page.fill("#adv-title", 'pensions "latin america"')
    browser_page.select_option("#adv-type", "working-papers")
    browser_page.fill("#adv-year_from", "2019")
    browser_page.click("form.advanced-form button[type=submit]")
    browser_page.wait_for_url(re.compile(r"/search\?"))
    assert params(browser_page) == [("q", 'title:pensions title:"latin america"'),
                                    ("type", "working-papers"), ("year_from", "2019")]
    assert browser_page.locator(".hit-title").all_inner_texts() \
        == ["Informal Employment and Pensions in Latin America"]


def test_without_javascript_the_filters_apply_with_the_button(
        chromium: Any, discovery_site: Any):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        open_search(page, discovery_site, "?q=policy")
        expected = facet_count(page, "f-type-working-papers")
        page.check("#f-type-working-papers")
        page.click(".facets p.apply button")
        page.wait_for_url(re.compile(r"type=working-papers"))
        assert params(page) == [("q", "policy"), ("type", "working-papers")]  # no empty ones
        assert total(page) == expected
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/", "/search?q=pensions", "/search/advanced", "/doc/",
                                  "/doc/publication/", "/doc/jel/", "/doc/jel/J",
                                  "/doc/region/caribbean", "/doc/org/ifd-cti",
                                  "/doc/keyword/retirement"])
def test_pages_log_no_error(browser_page: Page, discovery_site: Any, path: str):
    response = browser_page.goto(discovery_site.url + path)
    assert response.status == 200  # browser_page fails the test on any logged error


@pytest.mark.parametrize("path", ["/", "/search?q=pensions&type=working-papers",
                                  "/doc/publication/IDB-WP-001", "/doc/person/perez-javier"])
def test_axe_finds_no_serious_accessibility_violation(browser_page: Page, discovery_site: Any,
                                                       path: str):
    browser_page.goto(discovery_site.url + path)
    assert axe_violations(browser_page) == []
