"""The query catalogue over HTTP (policykg.webapp.api.routes): list, run, CSV, errors, OpenAPI."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import LiveServer, fetch
from flask.testing import FlaskClient

from policykg.graph import aggregates
from policykg.graph.config import Settings
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import open_store
from policykg.graph.store.embedded import OxigraphStore
from policykg.webapp.api.catalogue import catalogue
from policykg.webapp.api.routes import catalogue_examples, openapi_document
from policykg.webapp.app import create_app

BASE = "http://localhost:8000/"
JSON_TYPE = "application/sparql-results+json"
INJECTION = '"} ; DROP ALL ; #'
BACKENDS = ("oxigraph", "virtuoso")
REMOTE_STATES = {"client": "api"}


@pytest.fixture(scope="module")
def client(settings: Settings, loaded_store: Path | str, remote,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """The app over a copy of the sample-loaded store, its aggregates refreshed (on Virtuoso:
    the shared store, in the state "api")."""
    if remote:
        store = open_store(settings.store_location, settings=settings)
        remote.ensure("api", lambda: (remote.ensure("sample"),
                                      aggregates.refresh(store, Uris(BASE))))
        own = replace(settings, max_rows=100)
    else:
        path = tmp_path_factory.mktemp("api") / "store"
        shutil.copytree(loaded_store, path)
        store = OxigraphStore(path)
        aggregates.refresh(store, Uris(BASE))
        own = replace(settings, store=f"oxigraph:{path}", max_rows=100)
    app = create_app(own, store)
    yield app.test_client()
    store.close()


def test_list(client: FlaskClient) -> None:
    response = client.get("/api/queries")
    assert response.status_code == 200
    listed = {q["name"]: q for q in response.get_json()["queries"]}
    assert set(listed) == set(catalogue())
    jel = listed["prolific-authors-in-jel"]
    assert jel["url"].endswith("/api/queries/prolific-authors-in-jel")
    assert jel["title"] and jel["description"]
    assert jel["parameters"] == [
        {"name": "jel", "type": "jel-code", "required": False, "default": "O",
         "description": "A JEL code at any level: O, O3, O31",
         "schema": {"type": "string", "minLength": 1, "maxLength": 200, "default": "O"}},
        {"name": "limit", "type": "limit", "required": False, "default": "20",
         "description": "How many persons to return (at most 100)",
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    ]


def test_a_limit_s_description_says_the_maximum_its_schema_gives() -> None:
    """A query that ranks 1000 rows in a subquery says 1000, and so does its schema; another
    says the row cap of the server."""
    paths = openapi_document("http://localhost:8000", 10_000)["paths"]
    for name, most in (("prolific-authors-in-jel", 1000), ("persons-by-name", 10_000)):
        [limit] = [p for p in paths[f"/api/queries/{name}"]["get"]["parameters"]
                   if p["name"] == "limit"]
        assert limit["schema"]["maximum"] == most
        assert f"(at most {most})" in limit["description"]
        assert "1000 at most" not in limit["description"]


def rows_of(client: FlaskClient, name: str, **parameters: str) -> list[dict]:
    response = client.get(f"/api/queries/{name}", query_string=parameters)
    assert response.status_code == 200, response.get_json()
    return response.get_json(force=True)["results"]["bindings"]


@pytest.mark.parametrize("name, parameter, key, names", [
    ("publications-in-region", "region", "caribbean",
     ["The Caribbean", "El Caribe", "CARAÏBE", BASE + "id/region/caribbean"]),
    ("division-publications-per-year", "division", "ifd-cti",
     ["CTI", "IFD/CTI", "Competitiveness, Technology and Innovation Division"]),
    ("prolific-authors-in-jel", "jel", "O3",
     ["o3", "Innovation; Research and Development; Technological Change; Intellectual "
            "Property Rights"]),
    ("coauthors-of-person", "person", "rabellotti-roberta",
     ["Roberta Rabellotti", "rabellotti"]),
    ("keyword-cooccurrence", "keyword", "regional-ecosystem", ["Regional Ecosystem"]),
])
def test_a_named_thing_is_found_by_its_key_code_or_any_name(
        client: FlaskClient, name: str, parameter: str, key: str, names: list[str]) -> None:
    by_key = rows_of(client, name, **{parameter: key})
    assert by_key
    for named in names:
        assert rows_of(client, name, **{parameter: named}) == by_key, named


@pytest.mark.parametrize("name, parameter, value, message", [
    ("publications-in-region", "region", "Atlantis",
     "parameter 'region': 'Atlantis' names no region or country of the graph; give a "
     "country's ISO code or name, such as JM or Jamaica, or a region's key or name, such as "
     "caribbean or Central America"),
    ("division-publications-per-year", "division", "no-such-division",
     "parameter 'division': 'no-such-division' names no division, department or organisation "
     "of the graph; give its key, acronym or name, such as ifd-cti, CTI or Competitiveness, "
     "Technology and Innovation Division"),
    ("jel-breakdown", "jel", "Q9",
     "parameter 'jel': 'Q9' names no JEL code of the graph; give a code at any level, such "
     "as O, O3 or O31, or its label"),
    ("keyword-cooccurrence", "keyword", "zanzibar",
     "parameter 'keyword': 'zanzibar' names no keyword of the graph; give its key or label, "
     "such as regional-ecosystem"),
    ("coauthors-of-person", "person", "Nobody, Anybody",
     "parameter 'person': 'Nobody, Anybody' names no person of the graph; give their key or "
     "name, such as rabellotti-roberta or Rabellotti, Roberta"),
])
def test_a_value_that_names_nothing_is_a_400_naming_the_value(
        client: FlaskClient, name: str, parameter: str, value: str, message: str) -> None:
    response = client.get(f"/api/queries/{name}", query_string={parameter: value})
    assert response.status_code == 400
    assert response.get_json() == {"error": message, "parameter": parameter}


@pytest.mark.parametrize("parameter, value, message", [
    ("limit", "0", "parameter 'limit': 0 is less than 1; expected the most rows to return, a "
                   "whole number from 1"),
    ("limit", "many", "parameter 'limit': 'many' is not a whole number; expected the most "
                      "rows to return, a whole number from 1"),
    ("jell", "O", "parameter 'jell': no such parameter; this query takes jel, limit"),
])
def test_a_bad_value_is_answered_in_a_sentence(client: FlaskClient, parameter: str,
                                               value: str, message: str) -> None:
    response = client.get("/api/queries/prolific-authors-in-jel",
                          query_string={parameter: value})
    assert response.status_code == 400
    assert response.get_json()["error"] == message


def test_run_answers_sparql_results_json(client: FlaskClient) -> None:
    response = client.get("/api/queries/publications-per-jel-top")
    assert response.status_code == 200
    assert response.mimetype == JSON_TYPE
    body = response.get_json(force=True)
    assert body["head"]["vars"] == ["jel", "code", "label", "publications"]
    [row] = body["results"]["bindings"]
    assert row["jel"] == {"type": "uri", "value": BASE + "id/jel/O"}
    assert row["publications"] == {
        "type": "literal", "value": "1", "datatype": "http://www.w3.org/2001/XMLSchema#integer"}
    assert row["label"]["xml:lang"] == "en"
    assert response.headers["X-Result-Truncated"] == "false"


def test_parameters(client: FlaskClient) -> None:
    response = client.get("/api/queries/prolific-authors-in-jel",
                          query_string={"jel": "o3", "limit": "1"})
    body = response.get_json(force=True)
    assert [r["jel"]["value"] for r in body["results"]["bindings"]] == [BASE + "id/jel/O3"]
    assert response.headers["X-Result-Truncated"] == "true"


def test_a_person_is_found_by_name_in_any_order_case_and_accents_aside(
        client: FlaskClient) -> None:
    for name in ("roberta RABÉLLOTTI", "Rabel"):
        response = client.get("/api/queries/persons-by-name", query_string={"name": name})
        people = [r["person"]["value"] for r in response.get_json(force=True)["results"][
            "bindings"]]
        assert people == [BASE + "id/person/rabellotti-roberta"], name


@pytest.mark.parametrize("how", [{"headers": {"Accept": "text/csv"}},
                                 {"query_string": {"format": "csv"}}])
def test_csv(client: FlaskClient, how: dict) -> None:
    response = client.get("/api/queries/division-authors", **how)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["division", "person", "name", "publications"],
        [BASE + "id/org/ifd-cti", BASE + "id/person/conz-elisa", "Elisa Conz", "1"],
        [BASE + "id/org/ifd-cti", BASE + "id/person/rabellotti-roberta", "Roberta Rabellotti",
         "1"],
    ]
    assert response.get_data(as_text=True).endswith("\r\n")


def test_json_for_a_browser_and_for_application_json(client: FlaskClient) -> None:
    for accept in ("application/json", "*/*", "text/html,*/*;q=0.8"):
        response = client.get("/api/queries/publications-per-year", headers={"Accept": accept})
        assert response.mimetype == JSON_TYPE, accept


@pytest.mark.parametrize("query_string, parameter", [
    ({"jel": "O311"}, "jel"),
    ({"limit": "many"}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"jell": "O"}, "jell"),
])
def test_bad_parameter_is_400_naming_it(client: FlaskClient, query_string: dict,
                                        parameter: str) -> None:
    response = client.get("/api/queries/prolific-authors-in-jel", query_string=query_string)
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert f"'{parameter}'" in body["error"]


def test_a_parameter_given_twice_is_400(client: FlaskClient) -> None:
    response = client.get("/api/queries/prolific-authors-in-jel?jel=O&jel=F")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "jel"


def test_unknown_query_is_404(client: FlaskClient) -> None:
    response = client.get("/api/queries/no-such-query")
    assert response.status_code == 404
    assert "publications-per-year" in response.get_json()["queries"]


def test_unacceptable_format(client: FlaskClient) -> None:
    assert client.get("/api/queries/publications-per-year?format=xml").status_code == 406
    response = client.get("/api/queries/publications-per-year", headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_injection_is_a_plain_value(client: FlaskClient) -> None:
    response = client.get("/api/queries/persons-by-name", query_string={"name": INJECTION})
    assert response.status_code == 200
    assert response.get_json(force=True)["results"]["bindings"] == []
    assert client.get("/api/queries/publications-per-year").get_json(force=True)[
        "results"]["bindings"] != []


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    assert {"title", "version"} <= set(document["info"])
    paths = document["paths"]
    assert set(paths) == {"/api/queries", "/api/search"} | {f"/api/queries/{n}"
                                                            for n in catalogue()}
    operation = paths["/api/queries/prolific-authors-in-jel"]["get"]
    assert operation["operationId"] == "prolificAuthorsInJel"
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["jel"]["in"] == "query"
    assert parameters["jel"]["schema"]["default"] == "O"
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                             "default": 20}
    assert parameters["format"]["schema"]["enum"] == ["csv", "json"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {JSON_TYPE, "text/csv"}
    assert "400" in operation["responses"]
    ids = [p["get"]["operationId"] for p in paths.values()]
    assert len(ids) == len(set(ids))


def test_openapi_document_validates() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi_document("http://localhost:8000", 1000))


def test_catalogue_examples_for_the_query_page(client: FlaskClient) -> None:
    with client.application.app_context():
        examples = catalogue_examples()
    assert len(examples) == len(catalogue())
    assert all(set(e) == {"name", "title", "query"} for e in examples)
    assert all(e["query"].lstrip().startswith("#+ title:") for e in examples)


def test_over_http(live_server: LiveServer) -> None:
    reply = fetch(live_server.url + "/api/queries/word-search",
                  params={"words": "***", "format": "csv"})
    assert reply.status == 400 and reply.json()["parameter"] == "words"
    reply = fetch(live_server.url + "/api/openapi.json")
    assert reply.status == 200 and reply.media == "application/json"
