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
         "schema": {"type": "string", "pattern": "^[A-Za-z][0-9]{0,2}$", "default": "O"}},
        {"name": "limit", "type": "limit", "required": False, "default": "20",
         "description": "How many persons to return (1000 at most)",
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    ]


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
