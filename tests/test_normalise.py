"""Values as records carry them, in the forms RDF and the store accept."""

from __future__ import annotations

import pytest

from policykg.graph.mapping import normalise
from policykg.graph.mapping.normalise import InvalidValue


@pytest.mark.parametrize(("qualifier", "tag"), [
    ("en", "en"), ("en_US", "en-us"), ("pt-BR", "pt-br"), ("es-419", "es-419"),
    (None, None), ("", None), ("*", None), ("English (US)", None), ("englishlanguage", None),
])
def test_a_language_qualifier_becomes_a_bcp47_tag_or_none(qualifier, tag):
    assert normalise.language_tag(qualifier) == tag


def test_a_doi_s_resolver_iri_percent_encodes_what_an_iri_cannot_hold():
    assert str(normalise.doi_iri("10.18235/0004771")) == "https://doi.org/10.18235/0004771"
    assert str(normalise.doi_iri("10.1000/a<b>c\"d e#f%g")) == (
        "https://doi.org/10.1000/a%3Cb%3Ec%22d%20e%23f%25g")
    assert str(normalise.doi_iri("10.1002/(sici)1097-4571(199806)49:8;2-0")) == (
        "https://doi.org/10.1002/(sici)1097-4571(199806)49:8;2-0")


@pytest.mark.parametrize("value", [
    "https://publications.iadb.org/a%zz.pdf", "http://[bad/x", "https://x.org/a b",
    "ftp://x.org/a", "publications.iadb.org/a.pdf",
])
def test_a_web_address_the_store_would_refuse_is_an_invalid_value(value):
    with pytest.raises(InvalidValue, match="is not a web address"):
        normalise.web_address(value)


def test_a_web_address_is_kept_as_written():
    address = "https://publications.iadb.org/publications/english/document/A%20B.pdf"
    assert str(normalise.web_address(f"  {address} ")) == address


@pytest.mark.parametrize(("text", "folded"), [
    ("RABELLOTTI,  Roberta", "rabellotti,  roberta"), ("Durán Bastos", "duran bastos"),
    ("Straße", "strasse"), ("São Paulo", "sao paulo"), ("Ñandú", "nandu"),
])
def test_folding_ignores_case_and_accents(text, folded):
    assert normalise.fold(text) == folded


def test_folding_ascii_text_is_lower_casing_it():
    every = "".join(map(chr, range(128)))
    assert normalise.fold(every) == every.lower()
    assert normalise.fold(every + "é") == every.lower() + "e"  # the general path agrees


@pytest.mark.parametrize(("value", "code"), [
    ("en", "en"), ("en_US", "en"), ("eng", "en"), ("fre", "fr"), ("English", "en"),
    ("Inglés", "en"), ("Español", "es"), ("espanhol", "es"), ("Português", "pt"),
    ("Français", "fr"), ("Anglais", "en"), ("Alemán", "de"),
])
def test_a_language_is_found_by_its_code_or_by_its_name_in_a_language_records_come_in(
        value, code):
    assert normalise.language_code(value) == code
    assert str(normalise.language_iri(value)).endswith(f"/iso639-1/{code}")


@pytest.mark.parametrize("value", ["Klingonish", "ñu", "other", "N/A"])
def test_a_value_naming_no_language_is_doubtful(value):
    with pytest.raises(normalise.DoubtfulValue):
        normalise.language_code(value)
