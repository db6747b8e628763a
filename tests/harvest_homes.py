"""A policykg home over a copy of a store holding the vocabularies (``Home``), the OAI-PMH
repository and server the harvest tests run against, and their settings, shared by the harvest
tests. A test module imports the fixture functions to have ``home``, ``other_home``,
``repository`` and ``server``; the template store is conftest's ``template_store``."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import oai_server
import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from oai_records import synthetic_records
from oai_server import Repository
from rdflib import Graph

from policykg.graph.aggregates import pair_counts
from policykg.graph.cli import main
from policykg.graph.rdf.terms import rdflib_graph
from policykg.graph.rdf.uris import DEFAULT_BASE
from policykg.graph.search.indexing import STATE_GRAPH
from policykg.graph.store import open_store

BASE = DEFAULT_BASE
PROV = "http://www.w3.org/ns/prov#"
PKG = "https://w3id.org/policykg/ontology#"
GENERATED = f"{PROV}generatedAtTime"
PUBLICATIONS = f"{BASE}graph/publication/"
FAST = {  # settings for the tests: small groups of pages, quick retries, short timeouts
    "POLICYKG_BATCH_SIZE": "10",
    "POLICYKG_HARVEST_RETRIES": "3",
    "POLICYKG_HARVEST_BACKOFF": "0.05",
    "POLICYKG_HARVEST_TIMEOUT": "2",
    "POLICYKG_HARVEST_MAX_WAIT": "5",
}


class Home:
    """A policykg home over a copy of the template store; runs the CLI in-process."""

    def __init__(self, folder: Path, template: tuple[Path, frozenset[str]]) -> None:
        self.folder = folder
        self.store = folder / "store"
        self.reference = template[1]
        shutil.copytree(template[0], self.store)

    def args(self) -> list[str]:
        return ["--home", str(self.folder), "--store", f"oxigraph:{self.store}"]

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``policykg ARGS`` in this process (the vocabulary closure stays cached)."""
        result = CliRunner().invoke(main, [*self.args(), *args], env={**FAST, **(env or {})})
        print(result.stdout, result.stderr)  # shown when a test fails
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def harvest(self, url: str, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.run("harvest", url, *args, env=env)

    def state(self) -> dict:
        """The harvest state file's entries."""
        return json.loads((self.folder / "harvest-state.json").read_text("utf-8"))["harvests"]

    def graphs(self, drop: Callable[[str, ox.Quad], bool] = lambda g, q: False
               ) -> dict[str, Graph]:
        """The store's graphs other than the vocabularies', less the quads ``drop`` names."""
        return {name: rdflib_graph(found) for name, found in self._quads(drop).items()}

    def canonical(self, drop: Callable[[str, ox.Quad], bool] = lambda g, q: False
                  ) -> dict[str, frozenset[ox.Quad]]:
        """The graphs of ``graphs``, each with its blank nodes named canonically (RDFC-1.0, by
        pyoxigraph): two are equal when the graphs are isomorphic (rdflib's ``isomorphic`` is too
        slow for the tallies' thousands of blank nodes). The token of the store's pair counts
        file and of its text index are left out: random names for their states, never the same
        in two stores."""
        return {name: _canonical(found) for name, found in self._quads(drop).items()}

    def _quads(self, drop: Callable[[str, ox.Quad], bool]) -> dict[str, list[ox.Quad]]:
        quads: dict[str, list[ox.Quad]] = defaultdict(list)
        with open_store(f"oxigraph:{self.store}", read_only=True) as store:
            for quad in store.engine:
                name = quad.graph_name
                if isinstance(name, ox.NamedNode) and name.value not in self.reference \
                        and name.value not in (BASE + pair_counts.TOKEN_GRAPH,
                                               BASE + STATE_GRAPH) \
                        and not drop(name.value, quad):
                    quads[name.value].append(quad)
        return quads

    def provenance(self) -> dict[str, dict[str, str]]:
        """Each publication's provenance: predicate -> value."""
        with open_store(f"oxigraph:{self.store}", read_only=True) as store:
            found: dict[str, dict[str, str]] = defaultdict(dict)
            for quad in store.engine:
                name = quad.graph_name
                if isinstance(name, ox.NamedNode) and name.value.startswith(PUBLICATIONS) \
                        and quad.subject == name:
                    found[name.value.removeprefix(PUBLICATIONS)][quad.predicate.value] = \
                        quad.object.value
        return dict(found)


    def descriptions(self) -> dict[str, dict[str, set[str]]]:
        """What each record graph says of its publication, by OAI identifier: predicate ->
        objects (blank nodes as "_")."""
        query = f"""SELECT ?id ?p ?o {{ GRAPH ?g {{ ?g <{PKG}sourceIdentifier> ?id ;
            <http://xmlns.com/foaf/0.1/primaryTopic> ?pub . ?pub ?p ?o }} }}"""
        found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        with open_store(f"oxigraph:{self.store}", read_only=True) as store:
            for row in store.engine.query(query):
                term = row["o"]
                value = "_" if isinstance(term, ox.BlankNode) else str(term)
                found[row["id"].value][row["p"].value].add(value)
        return {key: dict(facts) for key, facts in found.items()}


def _canonical(quads: list[ox.Quad]) -> frozenset[ox.Quad]:
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return frozenset(dataset)


@pytest.fixture(name="home")
def harvest_home(tmp_path: Path, template_store) -> Home:
    return Home(tmp_path / "home", template_store)


@pytest.fixture(name="other_home")
def other_harvest_home(tmp_path: Path, template_store) -> Home:
    return Home(tmp_path / "other", template_store)


@pytest.fixture(name="repository")
def twenty_records() -> Repository:
    """20 valid records, five a page, in three sets."""
    repository = Repository(page_size=5)
    repository.add(synthetic_records(20))
    return repository


@pytest.fixture(name="server")
def serving(repository: Repository) -> Iterator[oai_server.Running]:
    running = oai_server.serve(repository)
    yield running
    running.stop()


def figures(output: str) -> dict[str, int]:
    """The counts of the summary line: read, loaded, replaced, unchanged..."""
    line = next(line for line in output.splitlines() if line.startswith("read "))
    return {name: int(value) for name, value in re.findall(r"(\w+) (\d+)", line)}
