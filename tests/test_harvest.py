"""``policykg harvest``, as a specification, against a real OAI-PMH server on 127.0.0.1.

The server (tests/oai_server.py) serves synthetic records (bench/synthetic.py) five a page, so
that resumption tokens are followed; switches make it answer 503, fail, stall, serve a broken
page or forget its tokens. Every store starts as a copy of one with the vocabularies installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from itertools import accumulate
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.compare import isomorphic

sys.path.insert(0, str(Path(__file__).parent))
import oai_server
from harvest_homes import (  # noqa: F401 - the fixtures
    BASE,
    FAST,
    GENERATED,
    PKG,
    PROV,
    PUBLICATIONS,
    Home,
    figures,
    harvest_home,
    other_harvest_home,
    serving,
    twenty_records,
)
from oai_records import DAY, synthetic_records
from oai_server import Repository

from policykg.graph.loading.loader import RAMP

# --- fixtures and helpers -----------------------------------------------------------------


def provenance_quad(graph: str, quad: ox.Quad) -> bool:
    """A record graph's statement about itself (where it came from, when, its hash)."""
    return graph.startswith(PUBLICATIONS) and quad.subject.value == graph


def generated_time(graph: str, quad: ox.Quad) -> bool:
    return quad.predicate.value == GENERATED


def tally(graph: str) -> bool:
    """A store-wide aggregate (graph/aggregates/NAME), recomputed when any record changes."""
    return graph.startswith(f"{BASE}graph/aggregates/") and "/publication/" not in graph


def assert_same_graphs(first: dict[str, frozenset[ox.Quad]],
                       second: dict[str, frozenset[ox.Quad]]) -> None:
    """The same graphs, each isomorphic to its namesake (Home.canonical)."""
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


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
