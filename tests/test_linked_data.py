"""Linked data: IRIs dereference (303 to a document), documents negotiate their format, carry
validators and Link headers, page the links to hubs, and unknown IRIs get a helpful 404.

The ``site`` fixture serves a store loaded through the real loader with the sample record and
three records written here, on a live server whose address IS the base of the IRIs, so that
rdflib can dereference them like any linked-data client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import fetch
from flask import Flask
from flask.testing import FlaskClient
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, SKOS
from werkzeug.serving import make_server

from policykg.graph.config import Settings
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers import read
from policykg.graph.store import open_store

SAMPLE = Path(__file__).parent / "fixtures" / "dspace-page-IDB-LM-00577.txt"
TITLE = ("Mainstreaming the Cluster Approach in the Caribbean Region: "
         "The CCPF Cluster Capacity Building Initiative")
SCRIPT_TITLE = "Clusters <script>alert(1)</script> & Value Chains"
PKG = Namespace("https://w3id.org/policykg/ontology#")
BIBO = Namespace("http://purl.org/ontology/bibo/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
PUB = "/doc/publication/IDB-LM-00577"
BACKENDS = ("oxigraph", "virtuoso")
REMOTE_STATES = {"site": "site"}

# Extra records, DSpace "full item record" pages: a second publication by Rabellotti (Jamaica,
# O12, 2021), one whose title holds markup, and one by another division.
RECORDS = {
    "dspace-page-IDB-LM-00999.txt": """\
dc.titleClusters and Value Chains in Jamaica
dc.contributor.authorRabellotti, Roberta
dc.contributor.authorPietrobelli, Carlo
dc.contributor.orgunitCompetitiveness, Technology and Innovation Division
dc.coverageJamaica
dc.date.issue2021-05-01T00:00:00
dc.description.abstractHow clusters in Jamaica join global value chains.
dc.format.extent30
dc.identifier.doihttp://dx.doi.org/10.18235/0009999
dc.language.isoen
dc.publisherInter-American Development Bank
dc.subjectCompetitiveness
dc.subject.jelcodeO12 - Microeconomic Analyses of Economic Development
dc.subject.keywordscluster;value chains
dc.typeLearning Materials
idb.identifier.pubnumberIDB-LM-00999
""",
    "dspace-page-IDB-LM-01000.txt": f"""\
dc.title{SCRIPT_TITLE}
dc.contributor.authorTester, Tina
dc.contributor.orgunitCompetitiveness, Technology and Innovation Division
dc.coverageJamaica
dc.date.issue2022-01-01T00:00:00
dc.description.abstractAn abstract with <b>markup</b> too.
dc.format.extent10
dc.language.isoen
dc.publisherInter-American Development Bank
dc.subject.jelcodeO32 - Management of Technological Innovation and R&D
dc.typeLearning Materials
idb.identifier.pubnumberIDB-LM-01000
""",
}


class SiteClient(FlaskClient):
    """Flask's test client, its requests sent to ``base`` (not to http://localhost/)."""

    def __init__(self, *args, base: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.base = base

    def open(self, *args, **kwargs):
        if not (args and not isinstance(args[0], str)):  # a path, not a built request
            kwargs.setdefault("base_url", self.base)
        return super().open(*args, **kwargs)


@dataclass
class Site:
    """A live server over the loaded store; ``url`` is also the base of every IRI."""

    url: str
    app: Flask

    @property
    def client(self) -> FlaskClient:
        """A test client whose requests come to the site's address, as a real client's do."""
        return SiteClient(self.app, self.app.response_class, base=self.url)

    def iri(self, path: str) -> str:
        return self.url + path.lstrip("/")


def load(store, home: Path, base: str) -> None:
    """The sample and RECORDS loaded into a store through the real loader."""
    paths = [SAMPLE]
    for name, text in RECORDS.items():
        (home / name).write_text(text, encoding="utf-8")
        paths.append(home / name)
    loader = Loader(store, Uris(base), Mapping.load(), Quarantine(home / "quarantine"))
    summary = loader.load(item for path in paths for item in read(path))
    assert (summary.loaded, summary.rejected) == (len(paths), 0), summary.messages


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, remote) -> Iterator[Site]:
    """The app on 127.0.0.1 with base = its own address (the port is known before loading),
    over the backend's store (on Virtuoso: the shared store, in the state "site")."""
    from policykg.webapp.app import create_app
    from policykg.webapp.sparql.executor import close_app_executor

    server = make_server("127.0.0.1", 0, Flask(__name__), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}/"
    home = tmp_path_factory.mktemp("linked-data")
    settings = Settings(home=str(home), store=f"oxigraph:{home / 'store'}", base=base)
    if remote:
        settings = remote.settings(settings)
    store = open_store(settings.store_location, settings=settings)
    if remote:
        remote.ensure("site", lambda: (remote.reset(), load(store, home, base)))
    else:
        load(store, home, base)
    app = create_app(settings, store)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(base, app)
    server.shutdown()
    server.server_close()
    close_app_executor(app)


def parse(data: bytes, media_type: str, base: str) -> Graph:
    formats = {"text/turtle": "turtle", "application/ld+json": "json-ld",
               "application/n-triples": "nt", "application/rdf+xml": "xml"}
    return Graph().parse(data=data, format=formats[media_type], publicID=base)


def links(response) -> dict[str, list[str]]:
    """rel -> targets of the Link header."""
    found: dict[str, list[str]] = {}
    for part in response.headers.get("Link", "").split(", <"):
        target, _, params = part.lstrip("<").partition(">")
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "rel":
                for rel in value.strip('"').split():
                    found.setdefault(rel, []).append(target)
    return found


def links_to(graph: Graph, iri: str) -> set[tuple]:
    """The (subject, predicate) pairs linking to ``iri``, other than from the document itself."""
    return {(s, p) for s, p in graph.subject_predicates(URIRef(iri)) if "/doc/" not in s}


# --- dereferencing -----------------------------------------------------------------------


def test_a_thing_iri_answers_303_see_other_to_its_document(site):
    response = site.client.get("/id/publication/IDB-LM-00577", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["Location"] == PUB
    assert "Vary" not in response.headers  # the 303 does not negotiate


def test_a_303_may_be_cached_by_every_client(site):
    response = site.client.get("/id/publication/IDB-LM-00577")
    assert response.status_code == 303
    assert response.cache_control.public and response.cache_control.max_age >= 60


def test_turtle_is_the_default_with_no_accept_header_or_any_type(site):
    for headers in ({}, {"Accept": "*/*"}):
        response = site.client.get(PUB, headers=headers)
        assert response.status_code == 200
        assert response.mimetype == "text/turtle"
        assert "Accept" in response.headers["Vary"]
        assert response.headers["Content-Location"] == PUB + ".ttl"
        assert TITLE in response.text


@pytest.mark.parametrize("media_type", ["text/turtle", "application/ld+json",
                                        "application/n-triples", "application/rdf+xml"])
def test_each_rdf_format_by_accept_parses_and_holds_the_title(site, media_type):
    response = site.client.get(PUB, headers={"Accept": media_type})
    assert response.mimetype == media_type
    graph = parse(response.data, media_type, site.url)
    thing = URIRef(site.iri("id/publication/IDB-LM-00577"))
    assert (thing, DCTERMS.title, Literal(TITLE, lang="en")) in graph


@pytest.mark.parametrize(("extension", "media_type"), [
    ("ttl", "text/turtle"), ("jsonld", "application/ld+json"),
    ("nt", "application/n-triples"), ("rdf", "application/rdf+xml")])
def test_each_rdf_format_by_extension_without_negotiation(site, extension, media_type):
    response = site.client.get(f"{PUB}.{extension}", headers={"Accept": "text/html"})
    assert response.mimetype == media_type
    assert "Vary" not in response.headers
    graph = parse(response.data, media_type, site.url)
    assert TITLE in {str(o) for o in graph.objects(predicate=DCTERMS.title)}


def test_browsers_get_html_by_accept_or_extension(site):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    negotiated = site.client.get(PUB, headers={"Accept": browser})
    by_extension = site.client.get(PUB + ".html")
    assert negotiated.mimetype == by_extension.mimetype == "text/html"
    assert "<h1>" + TITLE in negotiated.text
    assert negotiated.data == by_extension.data


def test_no_acceptable_format_is_406(site):
    response = site.client.get(PUB, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


def test_rdflib_dereferences_an_iri_over_http(site):
    iri = site.iri("id/publication/IDB-LM-00577")
    graph = Graph().parse(iri)
    assert (URIRef(iri), DCTERMS.title, Literal(TITLE, lang="en")) in graph
    person = URIRef(site.iri("id/person/rabellotti-roberta"))
    assert (person, FOAF.name, Literal("Roberta Rabellotti")) in Graph().parse(str(person))


def test_a_named_graph_is_a_document(site):
    response = site.client.get("/graph/publication/IDB-LM-00577")
    assert response.mimetype == "text/turtle"
    graph = parse(response.data, "text/turtle", site.url)
    record = URIRef(site.iri("graph/publication/IDB-LM-00577"))
    assert (record, FOAF.primaryTopic, URIRef(site.iri("id/publication/IDB-LM-00577"))) in graph
    assert TITLE in {str(o) for o in graph.objects(predicate=DCTERMS.title)}
    assert "Last-Modified" in response.headers
    nt = site.client.get("/graph/vocab/jel.nt")
    assert nt.mimetype == "application/n-triples" and b"/id/jel/O31>" in nt.data
    assert site.client.get("/graph/publication/NOPE").status_code == 404


# --- what a description holds ------------------------------------------------------------


def test_a_description_holds_own_inferred_labels_lists_and_incoming(site):
    graph = parse(site.client.get(PUB + ".ttl").data, "text/turtle", site.url)
    thing = URIRef(site.iri("id/publication/IDB-LM-00577"))
    jel = URIRef(site.iri("id/jel/O31"))
    assert (thing, PKG.jel, jel) in graph                          # asserted
    assert (thing, DCTERMS.subject, jel) in graph                  # inferred
    assert (thing, RDF.type, BIBO.Document) in graph               # inferred
    assert (jel, SKOS.notation, Literal("O31")) in graph            # label of a linked thing
    head = graph.value(thing, BIBO.authorList)
    authors = list(graph.items(head))
    assert [graph.value(a, FOAF.name) for a in authors] == [
        Literal("Roberta Rabellotti"), Literal("Elisa Conz")]
    record = URIRef(site.iri("graph/publication/IDB-LM-00577"))
    assert (record, FOAF.primaryTopic, thing) in graph            # incoming link
    document = URIRef(site.iri(PUB.lstrip("/")))
    assert (document, FOAF.primaryTopic, thing) in graph


def test_incoming_links_of_a_hub_are_paged_with_next_links(site):
    site.app.config["LINKED_DATA_PAGE_SIZE"] = 20
    try:
        seen, page, pages = set(), 1, []
        while page:
            response = site.client.get("/doc/jel/O.ttl" + (f"?page={page}" if page > 1 else ""))
            graph = parse(response.data, "text/turtle", site.url)
            incoming = links_to(graph, site.iri("id/jel/O"))
            assert len(incoming) <= 20
            seen |= incoming
            pages.append(response)
            following = next(graph.objects(None, HYDRA.next), None)
            page = page + 1 if following else 0
            if following:
                assert str(following).endswith(f"/doc/jel/O?page={page}")
                assert links(response)["next"] == [f"/doc/jel/O.ttl?page={page}"]
        assert len(pages) >= 3
        assert "next" not in links(pages[-1]) and "prev" in links(pages[-1])
        html = site.client.get("/doc/jel/O?page=2", headers={"Accept": "text/html"}).text
        assert 'rel="next" href="/doc/jel/O?page=3"' in html
        assert 'rel="prev" href="/doc/jel/O"' in html
    finally:
        site.app.config.pop("LINKED_DATA_PAGE_SIZE")
    everything = parse(site.client.get("/doc/jel/O.ttl").data, "text/turtle", site.url)
    assert seen == links_to(everything, site.iri("id/jel/O"))
    assert (URIRef(site.iri("id/jel/O3")), SKOS.broader) in seen


# --- HTTP: validators, methods, links, errors --------------------------------------------


def test_etag_and_last_modified_answer_304(site):
    first = site.client.get(PUB + ".ttl")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    again = site.client.get(PUB + ".ttl", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    since = site.client.get(PUB + ".ttl", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other = site.client.get(PUB + ".nt", headers={"If-None-Match": etag})
    assert other.status_code == 200  # each representation has its own ETag


def test_head_gives_the_headers_of_get_without_a_body(site):
    get = site.client.get(PUB, headers={"Accept": "application/ld+json"})
    head = site.client.head(PUB, headers={"Accept": "application/ld+json"})
    assert head.status_code == 200 and head.data == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Link", "Vary", "Content-Length"):
        assert head.headers[name] == get.headers[name]


def test_options_names_the_allowed_methods(site):
    for path in ("/id/publication/IDB-LM-00577", PUB, "/graph/vocab/jel"):
        response = site.client.options(path)
        assert response.status_code == 200
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_link_headers_name_the_thing_and_the_alternates(site):
    found = links(site.client.get(PUB))
    assert found["describes"] == [site.iri("id/publication/IDB-LM-00577")]
    assert found["http://xmlns.com/foaf/0.1/primaryTopic"] == found["describes"]
    assert sorted(found["alternate"]) == sorted(
        f"{PUB}.{ext}" for ext in ("ttl", "html", "jsonld", "nt", "rdf"))
    own = links(site.client.get(PUB + ".nt"))
    assert PUB + ".nt" not in own["alternate"] and len(own["alternate"]) == 4


def test_unknown_iris_get_a_helpful_404(site):
    page = site.client.get("/id/publication/IDB-XX-0", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert 'href="/doc/publication/"' in page.text and 'href="/sparql"' in page.text
    assert site.iri("id/publication/IDB-XX-0") in page.text
    rdf = site.client.get("/doc/person/nobody", headers={"Accept": "text/turtle"})
    assert rdf.status_code == 404 and rdf.mimetype == "text/turtle"
    assert "# 404 Not Found" in rdf.text and "/doc/person/" in rdf.text  # for a person too
    assert site.client.get(f"{PUB}x.ttl").status_code == 404


def test_the_404_page_suggestions_lead_somewhere(site):
    page = site.client.get("/id/person/nobody", headers={"Accept": "text/html"}).text
    assert '<form class="search" action="/search" method="get">' in page
    assert 'name="q"' in page and "by name" in page
    found = site.client.get("/search", query_string={"q": "rabellotti"})
    assert found.status_code == 200 and 'href="/doc/person/rabellotti-roberta"' in found.text
    assert "Roberta Rabellotti" in site.client.get("/doc/person/").text
    other = site.client.get("/doc/jel/ZZZ", headers={"Accept": "text/html"}).text
    assert '<form class="search" action="/search" method="get">' in other
    assert 'href="/doc/jel/"' in other
    words = site.client.get("/search", query_string={"q": "cluster"})
    assert words.status_code == 200 and "/doc/publication/IDB-LM-00577" in words.text


@pytest.mark.parametrize("media_type", ["application/ld+json", "text/turtle",
                                        "application/n-triples", "application/rdf+xml"])
def test_a_404_comes_in_the_rdf_syntax_asked_for(site, media_type):
    response = site.client.get("/id/person/nobody", headers={"Accept": media_type})
    assert response.status_code == 404 and response.mimetype == media_type
    graph = parse(response.data, media_type, site.url)
    error = graph.value(predicate=RDF.type, object=HYDRA.Error)
    assert graph.value(error, HYDRA.statusCode).toPython() == 404
    assert URIRef(site.iri("doc/person/")) in set(graph.objects(error, RDFS.seeAlso))


@pytest.mark.parametrize("page", ["99999999999999999999", "0", "-1", "two"])
def test_a_page_number_out_of_range_is_a_bad_request_naming_page(site, page):
    response = site.client.get("/doc/jel/O.ttl", query_string={"page": page})
    assert response.status_code == 400 and "page" in response.text


def test_an_address_that_is_not_utf8_is_a_bad_request(site):
    query = fetch(site.url + "search?q=%FFcluster")
    assert query.status == 400 and "`q`" in query.text and "UTF-8" in query.text
    path = fetch(site.url + "doc/person/%FF")
    assert path.status == 400 and "path" in path.text


def test_the_provenance_box_names_the_source_file_not_the_servers_folders(site):
    page = site.client.get("/doc/publication/IDB-LM-00999", headers={"Accept": "text/html"})
    assert "dspace-page-IDB-LM-00999.txt" in page.text
    assert "file:" not in page.text and site.app.config["POLICYKG"].home not in page.text


def test_the_site_has_an_icon(site):
    icon = site.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = site.client.get(PUB, headers={"Accept": "text/html"}).text
    assert 'rel="icon" href="/static/favicon.svg"' in page
    svg = site.client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.data.startswith(b"<svg")
