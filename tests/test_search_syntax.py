"""The query syntax people type (graph/search/syntax.py), and how a matching passage is shown
(graph/search/highlight.py)."""

from __future__ import annotations

import pytest

from policykg.graph.search.analysis import analyze, words
from policykg.graph.search.highlight import Matcher, highlight, snippet
from policykg.graph.search.syntax import AllOf, AnyOf, Not, Term, parse


def test_words_are_all_required_by_default():
    assert parse("informal employment") == AllOf((Term("informal"), Term("employment")))


def test_or_not_phrases_prefixes_and_fields():
    assert parse('"informal employment" OR pensions -mexico innov* author:perez') == AllOf((
        AnyOf((Term("informal employment", phrase=True), Term("pensions"))),
        Not(Term("mexico")),
        Term("innov", prefix=True),
        Term("perez", field="author"),
    ))


def test_groups_and_not():
    assert parse("(pension OR retirement) NOT chile") == AllOf((
        AnyOf((Term("pension"), Term("retirement"))), Not(Term("chile"))))


@pytest.mark.parametrize("typed", ["", "   ", "***", '""', "()", "title:", "AND"])
def test_a_query_with_nothing_to_find_is_none(typed: str):
    assert parse(typed) is None


@pytest.mark.parametrize("typed", ['"unclosed', "a ) b (", "((((x", 'title:"', "-", "OR OR"])
def test_broken_syntax_never_raises(typed: str):
    parse(typed)


def test_an_unknown_field_is_read_as_a_word():
    assert parse("JEL:O31") == Term("JEL:O31")


def test_analysis_folds_case_and_accents_and_stems_by_language():
    assert words("Pérez, INFORMACIÓN") == ["perez", "informacion"]
    assert analyze("pensions", "en") == analyze("pension", "en") == ["pension"]
    assert analyze("pensiones", "es") == ["pension"]
    assert analyze("pensions", "xx") == ["pensions"]  # no stemmer: folded only


def test_matching_words_are_marked_as_the_index_matches_them():
    matcher = Matcher(parse("pensión informal*"), "es")
    assert highlight("Las Pensiones <de> trabajadores informales", matcher) == (
        "Las <mark>Pensiones</mark> &lt;de&gt; trabajadores <mark>informales</mark>")


def test_a_snippet_is_the_passage_with_the_matches():
    text = "Filler words here. " * 30 + "Pensions of informal workers in Chile. " + "More. " * 40
    shown = snippet(text, Matcher(parse("pension chile"), "en"), width=120)
    assert shown.startswith("… ") and shown.endswith(" …")
    assert "<mark>Pensions</mark>" in shown and "<mark>Chile</mark>" in shown
    assert len(shown.replace("<mark>", "").replace("</mark>", "")) <= 120 + 4


def test_a_snippet_without_match_is_the_start_of_the_text():
    text = "First words. " + "x " * 300
    assert snippet(text, Matcher(parse("absent"), "en")).startswith("First words.")
