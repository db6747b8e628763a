"""``policykg harvest``, as a specification, against a real OAI-PMH server on 127.0.0.1.

The server (tests/oai_server.py) serves synthetic records (bench/synthetic.py) five a page, so
that resumption tokens are followed; switches make it answer 503, fail, stall, serve a broken
page or forget its tokens. Every store starts as a copy of one with the vocabularies installed.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from rdflib import Graph
from rdflib.compare import isomorphic

sys.path.insert(0, str(Path(__file__).parent))
import oai_server
from oai_server import DAY, Repository, synthetic_records

from policykg.graph.aggregates import pair_counts
from policykg.graph.cli import main
from policykg.graph.inference.reference import prepare
from policykg.graph.loading.loader import RAMP
from policykg.graph.rdf.terms import rdflib_graph
from policykg.graph.rdf.uris import DEFAULT_BASE, Uris
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


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, frozenset[str]]:
    """A store holding only the vocabularies (and their closure), and its graph names."""
    path = tmp_path_factory.mktemp("template") / "store"
    with open_store(f"oxigraph:{path}") as store:
        prepare(store, Uris(BASE))
        names = frozenset(store.graph_names(""))
    return path, names


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
        pyoxigraph): two are equal when the graphs are isomorphic. rdflib's ``isomorphic`` took
        minutes on the tallies' thousands of blank nodes. The token of the store's pair counts
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


def provenance_quad(graph: str, quad: ox.Quad) -> bool:
    """A record graph's statement about itself (where it came from, when, its hash)."""
    return graph.startswith(PUBLICATIONS) and quad.subject.value == graph


def generated_time(graph: str, quad: ox.Quad) -> bool:
    return quad.predicate.value == GENERATED


def tally(graph: str) -> bool:
    """A store-wide aggregate (graph/aggregates/NAME), recomputed when any record changes."""
    return graph.startswith(f"{BASE}graph/aggregates/") and "/publication/" not in graph


def _canonical(quads: list[ox.Quad]) -> frozenset[ox.Quad]:
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return frozenset(dataset)


def assert_same_graphs(first: dict[str, frozenset[ox.Quad]],
                       second: dict[str, frozenset[ox.Quad]]) -> None:
    """The same graphs, each isomorphic to its namesake (Home.canonical)."""
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


@pytest.fixture
def home(tmp_path: Path, template_store) -> Home:
    return Home(tmp_path / "home", template_store)


@pytest.fixture
def other_home(tmp_path: Path, template_store) -> Home:
    return Home(tmp_path / "other", template_store)


@pytest.fixture
def repository() -> Repository:
    """20 valid records, five a page, in three sets."""
    repository = Repository(page_size=5)
    repository.add(synthetic_records(20))
    return repository


@pytest.fixture
def server(repository: Repository) -> Iterator[oai_server.Running]:
    running = oai_server.serve(repository)
    yield running
    running.stop()


def figures(output: str) -> dict[str, int]:
    """The counts of the summary line: read, loaded, replaced, unchanged..."""
    line = next(line for line in output.splitlines() if line.startswith("read "))
    return {name: int(value) for name, value in re.findall(r"(\w+) (\d+)", line)}


def revised(rows: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """The rows with "(revised)" added to the title."""
    return [(f, v + " (revised)" if f == "dc.title" else v, lang) for f, v, lang in rows]


def new_record(repository: Repository, number: int) -> oai_server.OaiRecord:
    """A record like the first one, with its own identifier, publication number and DOI, the
    latest of all."""
    first = next(iter(repository.records.values()))
    own = {"idb.identifier.pubnumber": f"IDB-TN-9{number:04d}",
           "dc.identifier.doi": f"http://dx.doi.org/10.18235/9{number:06d}"}
    rows = [(f, own.get(f, v), lang) for f, v, lang in first.rows]
    return oai_server.OaiRecord(f"oai:publications.iadb.org:11319/9{number}",
                                repository.latest() + timedelta(minutes=1), rows, first.sets)


# --- a full harvest -----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["dim", "oai_dc", "qdc"])
def test_full_harvest_equals_loading_the_same_records_from_files(
        prefix, home, other_home, repository, server, tmp_path):
    repository.records.clear()
    repository.add(synthetic_records(30, invalid_rate=0.1))  # three invalid
    harvested = home.harvest(server.url, "--metadata-prefix", prefix)
    files = oai_server.write_files(repository.records.values(), tmp_path / "files", prefix)
    loaded = other_home.run("load", "--quiet", *map(str, files))
    assert harvested.exit_code == loaded.exit_code == 1  # the invalid records are rejected
    assert harvested.stdout.splitlines()[0] == loaded.stdout.splitlines()[0]
    assert_same_graphs(home.canonical(provenance_quad), other_home.canonical(provenance_quad))
    by_harvest, by_file = home.provenance(), other_home.provenance()
    assert sorted(by_harvest) == sorted(by_file) and len(by_harvest) >= 25
    for key, facts in by_harvest.items():
        identifier = facts[f"{PKG}sourceIdentifier"]
        assert identifier == by_file[key][f"{PKG}sourceIdentifier"]
        assert facts[f"{PKG}sourceFormat"] == f"oai-pmh/{prefix}"
        assert facts[f"{PKG}contentHash"] == by_file[key][f"{PKG}contentHash"]
        assert facts[f"{PROV}wasDerivedFrom"] == server.url + "?verb=GetRecord&metadataPrefix=" \
            f"{prefix}&identifier=" + identifier.replace(":", "%3A").replace("/", "%2F")
    assert len(repository.requests()) == 6  # 30 records, 5 a page: the last has an empty token


# What DSpace's qdc.xsl drops from the synthetic records' fields, as their statements: the
# publication number (the key falls back to the DOI), dc.subject.jelcode and .keywords,
# dc.format.extent, idb.operation; dc.contributor.orgunit comes back unqualified, unmapped.
QDC_LOSES = {f"{PKG}publicationNumber", f"{PKG}jel", f"{PKG}jelAsRecorded", f"{PKG}keyword",
             "http://purl.org/ontology/bibo/numPages", f"{PKG}operation", f"{PKG}division"}
QDC_GAINS = {"https://w3id.org/policykg/dspace-field/dc.contributor"}


def test_qdc_harvest_loses_only_what_the_dspace_crosswalk_drops(
        home, other_home, repository, server):
    assert home.harvest(server.url).exit_code == 0
    qdc = other_home.harvest(server.url, "--metadata-prefix", "qdc")
    assert qdc.exit_code == 0 and "read 20, loaded 20," in qdc.stdout
    by_dim, by_qdc = home.descriptions(), other_home.descriptions()
    assert sorted(by_qdc) == sorted(by_dim) and len(by_qdc) == 20
    lost, gained = set(), set()
    for identifier, dim in by_dim.items():
        qdc_facts = by_qdc[identifier]
        lost |= dim.keys() - qdc_facts.keys()
        gained |= qdc_facts.keys() - dim.keys()
        for predicate in dim.keys() & qdc_facts.keys():  # title, authors, abstract, dates ...
            assert (predicate, qdc_facts[predicate]) == (predicate, dim[predicate])
        assert {f"http://purl.org/dc/terms/{name}" for name in (
            "title", "creator", "abstract", "issued", "available")} <= qdc_facts.keys()
    assert lost == QDC_LOSES and gained == QDC_GAINS


def test_pages_are_followed_to_the_end_and_summarised(home, repository, server):
    result = home.harvest(server.url)
    assert result.exit_code == 0
    assert "read 20, loaded 20, replaced 0, unchanged 0, deleted 0, rejected 0" in result.stdout
    assert "harvested 20 record(s) in 4 page(s)" in result.stdout
    assert "records/s; HTTP 5 response(s)" in result.stdout
    tokens = [request.get("resumptionToken") for request in repository.requests()]
    assert tokens[0] is None and all(tokens[1:]) and len(set(tokens)) == 4
    (entry,) = home.state().values()
    assert entry["datestamp"] == "2024-01-01T08:19:00Z" and entry["run"] is None
    assert entry["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert entry["deleted_records"] == "persistent"


def test_a_set_is_harvested_alone_and_remembered_apart(home, repository, server):
    result = home.harvest(server.url, "--set", "col_11319_1")
    assert "loaded 7," in result.stdout
    assert repository.requests()[0]["set"] == "col_11319_1"
    home.harvest(server.url)
    assert sorted(home.state()) == [f"{server.url} set=* prefix=dim",
                                    f"{server.url} set=col_11319_1 prefix=dim"]


# --- incremental harvests -----------------------------------------------------------------


def test_second_harvest_asks_since_the_last_datestamp_and_changes_only_what_changed(
        home, repository, server):
    home.harvest(server.url)
    before = home.provenance()
    for identifier in list(repository.records)[3:6]:
        repository.change(identifier, revised(repository.records[identifier].rows))
    repository.add([new_record(repository, 1)])
    seen = len(repository.requests())
    result = home.harvest(server.url)
    assert repository.requests()[seen]["from"] == "2024-01-01T08:19:00Z"
    # the boundary record (08:19) again, unchanged; three replaced; one new
    assert "read 5, loaded 1, replaced 3, unchanged 1, deleted 0, rejected 0" in result.stdout
    after = home.provenance()
    changed = {key for key in before
               if before[key][f"{PKG}contentHash"] != after[key][f"{PKG}contentHash"]}
    assert len(changed) == 3 and len(after) == 21
    for key in set(before) - changed:
        assert after[key][GENERATED] == before[key][GENERATED]
    titles = home.graphs()
    assert sum("(revised)" in str(graph.serialize(format="nt")) for graph in titles.values()) == 3


def test_day_granularity_harvests_the_boundary_day_again(home, repository, server):
    repository.granularity = DAY
    for index, record in enumerate(repository.records.values()):
        record.datestamp += timedelta(days=index // 5)  # five records a day
    home.harvest(server.url)
    assert home.state()[f"{server.url} set=* prefix=dim"]["datestamp"] == "2024-01-04"
    last = list(repository.records)[-1]
    repository.change(last, revised(repository.records[last].rows))
    seen = len(repository.requests())
    result = home.harvest(server.url)
    assert repository.requests()[seen]["from"] == "2024-01-04"
    assert "read 5, loaded 0, replaced 1, unchanged 4," in result.stdout


def test_deleted_records_have_their_graphs_removed_and_nothing_else_is_touched(
        home, repository, server):
    home.harvest(server.url)
    before, provenance_before = home.graphs(), home.provenance()
    gone = list(repository.records)[:2]
    for identifier in gone:
        repository.delete(identifier)
    result = home.harvest(server.url)
    assert "deleted 2," in result.stdout
    after = home.graphs()
    removed = set(before) - set(after)
    keys = {key for key, facts in provenance_before.items()
            if facts[f"{PKG}sourceIdentifier"] in gone}
    assert len(keys) == 2 and {PUBLICATIONS + key for key in keys} <= removed
    assert {name.rsplit("/", 1)[-1] for name in removed if "/publication/" in name} == keys
    assert all(isomorphic(before[name], after[name]) for name in after if not tally(name))
    assert "deleted 0," in home.harvest(server.url).stdout  # deleted again: nothing to remove


def test_nothing_new_is_no_error(home, repository, server):
    home.harvest(server.url)
    repository.records.pop(list(repository.records)[-1])  # the boundary record leaves
    result = home.harvest(server.url)
    assert result.exit_code == 0
    assert "nothing new since 2024-01-01T08:19:00Z" in result.stdout


# --- resilience ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_503_waits_for_retry_after_then_succeeds(form, home, repository, server):
    wait = "1" if form == "seconds" else email.utils.format_datetime(
        datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    repository.unavailable(count=1, retry_after=wait, after=2)  # the second ListRecords page
    result = home.harvest(server.url)
    assert result.exit_code == 0 and "loaded 20," in result.stdout
    refused, retried = repository.log[2], repository.log[3]
    assert refused["status"] == "503" and retried["status"] == "200"
    assert refused["resumptionToken"] == retried["resumptionToken"]
    assert float(retried["time"]) - float(refused["time"]) >= 0.95


def test_server_errors_and_timeouts_are_retried_with_backoff(home, repository, server):
    repository.fail(count=2, status=500, after=1)
    repository.delay(3.0, count=1, after=4)  # longer than the 2 s timeout
    result = home.harvest(server.url)
    assert result.exit_code == 0 and "loaded 20," in result.stdout
    statuses = [entry.get("status") for entry in repository.requests()]  # the stall: none yet
    assert statuses[:3] == ["500", "500", "200"]
    assert len(repository.requests()) == 4 + 2 + 1  # the pages, the 500s, the retried stall


def test_persistent_errors_stop_the_run_after_bounded_retries(home, repository, server):
    repository.fail(count=100, status=502, after=2)
    result = home.harvest(server.url)
    assert result.exit_code == 3
    assert "HTTP 502" in result.stderr and "after 3 retries" in result.stderr
    assert len(repository.log) == 2 + 4
    entry = home.state()[f"{server.url} set=* prefix=dim"]
    assert entry["last"]["status"] == "stopped" and entry["run"]["token"]


def test_unreachable_endpoint_is_reported(home):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = home.harvest(f"http://127.0.0.1:{port}/oai")
    assert result.exit_code == 3
    assert "cannot reach" in result.stderr and "ConnectError" in result.stderr


def test_broken_page_is_quarantined_and_the_harvest_goes_on(home, repository, server):
    repository.break_page(cursor=5)  # the second page: its second record is malformed
    result = home.harvest(server.url)
    assert result.exit_code == 1
    token = repository.requests()[1]["resumptionToken"]
    assert f"malformed page from {server.url} (resumptionToken {token})" in result.stderr
    assert "1 record(s) before the fault were read" in result.stderr
    assert "read 17, loaded 16," in result.stdout and "rejected 1" in result.stdout
    rejected = home.run("rejected").stdout
    assert f"resumptionToken={token.replace('!', '%21')}" in rejected
    assert "malformed XML at line" in rejected
    # the window is asked again next time: the four records the page lost come in
    again = home.harvest(server.url)
    assert "1 malformed page(s) passed over" in result.stdout
    assert "read 20, loaded 4, replaced 0, unchanged 16," in again.stdout
    assert "0 rejected record(s)" in home.run("rejected").stdout


def test_malformed_record_is_quarantined_naming_endpoint_token_and_identifier(
        home, repository, server):
    identifier = list(repository.records)[7]
    rows = repository.records[identifier].rows
    repository.records[identifier].rows = [(f, v + "\x85" if f == "dc.title" else v, lang)
                                           for f, v, lang in rows]
    result = home.harvest(server.url)
    assert "loaded 19," in result.stdout and "rejected 1" in result.stdout
    token = repository.requests()[1]["resumptionToken"]
    line = next(line for line in home.run("rejected").stdout.splitlines() if identifier in line)
    assert "control character U+0085" in line
    assert f"harvested from {server.url}, resumptionToken {token}" in line


@pytest.mark.parametrize("tokens", ["kept", "expired"])
def test_unrecoverable_page_stops_the_run_and_the_next_run_goes_on(
        tokens, home, repository, server):
    repository.break_page(cursor=10, mode="truncate")
    result = home.harvest(server.url)
    assert result.exit_code == 3
    token = repository.requests()[2]["resumptionToken"]
    assert f"malformed page from {server.url} (resumptionToken {token})" in result.stderr
    assert "cannot be recovered" in result.stderr
    entry = home.state()[f"{server.url} set=* prefix=dim"]
    assert entry["run"]["token"] == token and entry["last"]["status"] == "stopped"
    assert "resumes at resumptionToken" in home.run("harvest", "--status").stdout
    if tokens == "expired":
        repository.expire_tokens()
    seen = len(repository.requests())
    again = home.harvest(server.url)
    assert again.exit_code == 0, again.stderr
    assert repository.requests()[seen].get("resumptionToken") == token
    if tokens == "expired":
        assert "no longer accepted: restarted from the beginning" in again.stdout
        counted = figures(again.stdout)
        assert counted["unchanged"] >= 10 and counted["loaded"] + counted["unchanged"] == 20
    assert len(home.provenance()) == 20


def test_oai_errors_have_clear_messages(home, repository, server):
    repository.formats = ("dim",)
    refused = home.harvest(server.url, "--metadata-prefix", "oai_dc")
    assert refused.exit_code == 3
    assert "does not offer metadata prefix 'oai_dc'" in refused.stderr
    assert "it offers: dim" in refused.stderr
    refused = home.harvest(server.url, "--metadata-prefix", "qdc")
    assert refused.exit_code == 3 and "does not offer metadata prefix 'qdc'" in refused.stderr
    mixed = home.harvest(server.url, "--from", "2024-01-01", "--until", "2024-01-02T00:00:00Z")
    assert mixed.exit_code == 3 and "rejected the arguments" in mixed.stderr
    assert "badArgument" in mixed.stderr
    missing = home.harvest(server.url, "--identifier", "oai:nowhere:1")
    assert missing.exit_code == 3 and "has no such record" in missing.stderr
    one = home.harvest(server.url, "--identifier", next(iter(repository.records)))
    assert one.exit_code == 0 and "loaded 1," in one.stdout
    later = home.harvest(server.url, "--from", "2030-01-01")
    assert later.exit_code == 0 and "nothing new since 2030-01-01" in later.stdout


def test_arguments_that_cannot_work_are_refused_before_any_request(home, repository, server):
    prefix = home.harvest(server.url, "--metadata-prefix", "marc")
    assert prefix.exit_code == 2 and "'marc' is not one of 'dim', 'oai_dc', 'qdc'" in prefix.stderr
    date = home.harvest(server.url, "--from", "yesterday")
    assert date.exit_code == 2 and "YYYY-MM-DD" in date.stderr
    assert repository.log == []


def test_status_shows_each_endpoint_last_run_datestamp_and_counts(home, repository, server):
    assert "no harvest yet" in home.run("harvest", "--status").stdout
    home.harvest(server.url)
    home.harvest(server.url, "--set", "col_11319_0")
    status = home.run("harvest", "--status").stdout.splitlines()
    assert status[0] == f"{server.url} set=* prefix=dim"
    assert status[1].startswith("  last run: complete, ")
    assert "4 page(s), 20 record(s); read 20, loaded 20," in status[1]
    assert status[2].startswith("  harvested up to: 2024-01-01T08:19:00Z (granularity")
    assert f"{server.url} set=col_11319_0 prefix=dim" in status


# --- a killed harvest ---------------------------------------------------------------------


def committed_pages(home: Home, key: str) -> int:
    """The pages the unfinished run has committed (0 before the state names it)."""
    try:
        run = home.state()[key]["run"]
    except (FileNotFoundError, KeyError):
        return 0
    return run["pages"] if run else 0


def test_killed_harvest_resumes_without_losing_or_duplicating_records(
        tmp_path, home, other_home):
    repository = Repository(page_size=5)
    repository.add(synthetic_records(200, invalid_rate=0.03))
    running = oai_server.serve(repository)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "policykg.graph.cli", *home.args(), "harvest", running.url,
             "--quiet"], env={**os.environ, **FAST, "POLICYKG_BATCH_SIZE": "20"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        key = f"{running.url} set=* prefix=dim"
        deadline = time.monotonic() + 120
        while committed_pages(home, key) < 8 and time.monotonic() < deadline:
            assert process.poll() is None, "the harvest ended before it could be killed"
            time.sleep(0.01)
        time.sleep(0.1)  # into the loading of the third group of pages
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        run = home.state()[key]["run"]
        # pages are committed as the loader writes its batches of 20 (the first ones
        # smaller: RAMP), five records a page
        ends = accumulate([*(20 // divisor for divisor in RAMP), *[20] * 10])
        assert run["pages"] in {end // 5 for end in ends} and 8 <= run["pages"] < 40
        assert run["token"]
        assert len(repository.requests()) > run["pages"]  # fetched ahead, not committed
        seen = len(repository.requests())
        resumed = home.harvest(running.url)
        assert repository.requests()[seen]["resumptionToken"] == run["token"]
        assert resumed.exit_code in (0, 1)  # 1: invalid records among those it read
        clean = other_home.harvest(running.url)
    finally:
        running.stop()
    assert "read 200," in clean.stdout
    assert len(home.provenance()) == len(other_home.provenance()) == 194
    assert_same_graphs(home.canonical(generated_time), other_home.canonical(generated_time))
