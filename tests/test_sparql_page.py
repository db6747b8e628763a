"""The SPARQL page for a browser: inside the site's header and navigation, YASGUI set to keep a
person's tabs (its persistence) and to show results in its simple view. What a person then sees
(the tabs after a reload, the simple table) is for the browser tests."""

from __future__ import annotations

from conftest import fetch


def page(live_server) -> str:
    reply = fetch(live_server.url + "/sparql", headers={"Accept": "text/html"})
    assert reply.status == 200
    return reply.text


def test_the_sparql_page_is_inside_the_site_header_and_navigation(live_server):
    html = page(live_server)

    assert '<header class="site">' in html and '<nav aria-label="Site">' in html
    assert 'href="/doc/">Browse</a>' in html and 'href="/static/style.css"' in html
    assert "<h1>SPARQL endpoint</h1>" in html


def test_yasgui_keeps_tabs_and_shows_results_in_its_simple_view(live_server):
    html = page(live_server)
    if "/static/yasgui/yasgui.min.js" not in html:  # YASGUI not installed: the plain form
        assert '<form id="sparql-form"' in html
        return

    assert 'persistenceId: persistence' in html and '"policykg-sparql"' in html
    assert "pluginsConfig: { table: { compact: true } }" in html
