"""A page shows its labels in the language asked for (``?lang=``, else Accept-Language, else
English), whatever language the first record gave, and names languages ("English",
"Español") rather than showing their IRIs.

The store holds one record whose keyword is given in English and in Spanish, and two records,
one in Spanish and one in Portuguese, that name one keyword ("Economía", "Economia").
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from conftest import fetch, policykg, start_server

from policykg.graph.config import Settings

COLUMNS = ("id", "collection", "dc.contributor.author[en]", "dc.date.issued",
           "dc.language.iso", "dc.subject.keywords[es]", "dc.subject.keywords[en]",
           "dc.title[en]", "dc.type[en]", "dc.coverage[en]", "idb.identifier.pubnumber")
VALUES = ("7a1b2c3d-0000-4000-8000-000000000001", "123456789/2", "Pérez, Ana", "2024-02-01",
          "es||en", "Clúster", "Cluster", "Clusters in two languages", "Working Papers",
          "Caribbean", "IDB-WP-09001")
RECORD = ",".join(COLUMNS) + "\n" + ",".join(f'"{value}"' for value in VALUES) + "\n"
PAGE = "doc/publication/IDB-WP-09001"
TWO_COLUMNS = ("id", "collection", "dc.contributor.author", "dc.date.issued", "dc.language.iso",
               "dc.subject.keywords", "dc.title", "dc.type[en]", "idb.identifier.pubnumber")
TWO_RECORDS = ",".join(TWO_COLUMNS) + "\n" + "".join(
    ",".join(f'"{value}"' for value in (
        f"7a1b2c3d-0000-4000-8000-00000000000{n}", "123456789/2", "Pérez, Ana", "2024-02-01",
        language, keyword, f"Economy {n}", "Working Papers", f"IDB-WP-0900{n}")) + "\n"
    for n, language, keyword in ((2, "es", "Economía"), (3, "pt", "Economia")))


@pytest.fixture(scope="module")
def server(vocabulary_template, tmp_path_factory):
    """A server over a store of its own (the vocabularies and RECORD)."""
    home = tmp_path_factory.mktemp("two-languages")
    shutil.copytree(vocabulary_template, home / "store")
    settings = replace(Settings(), home=str(home), store=f"oxigraph:{home / 'store'}")
    path = home / "dspace-two-languages.csv"
    path.write_text(RECORD, encoding="utf-8")
    two = home / "dspace-two-records.csv"
    two.write_text(TWO_RECORDS, encoding="utf-8")
    done = policykg(settings, "load", "--quiet", str(path), str(two))
    assert done.returncode == 0, done.stdout + done.stderr
    running = start_server(settings)
    yield running
    running.stop()


def html(server, path: str = PAGE, **headers: str) -> str:
    reply = fetch(f"{server.url}/{path}", headers={"Accept": "text/html", **headers})
    assert reply.status == 200, reply.text
    return reply.text


def test_a_page_shows_labels_in_english_by_default(server):
    page = html(server)

    assert ">Cluster</a>" in page and ">Clúster</a>" not in page
    assert ">Working Papers</a>" in page and ">Caribbean</a>" in page


def test_a_page_shows_labels_in_the_language_of_lang(server):
    page = html(server, PAGE + "?lang=es")

    assert ">Clúster</a>" in page and ">Cluster</a>" not in page
    assert ">Documentos de trabajo</a>" in page and ">Caribe</a>" in page


def test_a_page_shows_labels_in_the_language_of_accept_language(server):
    reply = fetch(f"{server.url}/{PAGE}", headers={"Accept": "text/html",
                                                    "Accept-Language": "es-MX,es;q=0.9"})

    assert ">Clúster</a>" in reply.text
    assert "Accept-Language" in reply.headers["Vary"]


def test_the_keyword_page_is_in_the_language_asked_for_too(server):
    english = html(server, "doc/keyword/cluster")
    spanish = html(server, "doc/keyword/cluster?lang=es")

    assert "<h1>Cluster</h1>" in english and "<h1>Clúster</h1>" in spanish


def test_languages_are_shown_by_their_names_in_the_page_language(server):
    english = html(server)
    spanish = html(server, PAGE + "?lang=es")

    assert ">English</a>" in english and ">Spanish</a>" in english
    assert ">Inglés</a>" in spanish and ">Español</a>" in spanish
    assert "lang:en" not in english and "lang:es" not in english


def test_an_unknown_lang_is_a_400_naming_it(server):
    reply = fetch(f"{server.url}/{PAGE}?lang=zz", headers={"Accept": "text/html"})

    assert reply.status == 400 and "lang: 'zz'" in reply.text


@pytest.mark.parametrize("language, label", [("es", "Economía"), ("pt", "Economia")])
def test_a_keyword_two_records_name_in_two_languages_shows_each_in_its_language(
        server, language: str, label: str):
    page = html(server, f"doc/keyword/economia?lang={language}")

    assert f"<h1>{label}" in page
