"""The HTML of terms and their groupings (webapp/markup.py): what the templates show, every
value escaped."""

from __future__ import annotations

from policykg.webapp.linked_data.markup import chain_html, placed_html, term_html, terms_html

EVIL = {"iri": 'http://x/"><script>', "href": '/doc/"><script>', "label": "<b>O</b> & co"}
TOP = {"iri": "http://x/id/jel/O", "href": "/doc/jel/O", "label": "O Economics"}
SEP = '<span class="sep" aria-hidden="true"> \u203a </span>'


def test_a_term_is_a_link_with_its_iri_as_title_and_every_value_escaped():
    html = str(term_html(EVIL))
    assert "<script>" not in html and "<b>" not in html
    assert html == ('<a href="/doc/&#34;&gt;&lt;script&gt;" title="http://x/&#34;&gt;&lt;script&gt;"'
                    '>&lt;b&gt;O&lt;/b&gt; &amp; co</a>')


def test_terms_are_a_list_of_a_class():
    assert str(terms_html([TOP, TOP], 'tags"')) == (
        f'<ul class="tags&#34;"><li>{term_html(TOP)}</li><li>{term_html(TOP)}</li></ul>')
    assert str(terms_html([])) == '<ul class="inline"></ul>'


def test_a_chain_runs_from_the_top_to_the_term_in_bold():
    assert str(chain_html([TOP], EVIL)) == (
        f'<span class="chain">{term_html(TOP)}{SEP}<strong>{term_html(EVIL)}</strong></span>')
    assert str(chain_html([TOP])) == f'<span class="chain">{term_html(TOP)}</span>'


def test_a_placed_term_shows_under_each_of_its_chains_else_alone():
    html = str(placed_html([{"term": EVIL, "paths": [[TOP], [TOP, TOP]]},
                            {"term": TOP, "paths": []}]))
    assert html.count("<li>") == 2 and html.count("<br>") == 1
    assert "<script>" not in html
    assert f"<li>{term_html(TOP)}</li>" in html
