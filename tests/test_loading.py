"""Loading behaviour: idempotency, replacement, deletion, quarantine, crashes, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from policykg.graph.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_TEXT = (FIXTURES / "dspace-page-IDB-LM-00577.txt").read_text("utf-8")
BASE = "http://localhost:8000/"
TITLE = "Mainstreaming the Cluster Approach in the Caribbean Region"


def page(number: str = "IDB-LM-00577", **changes: str) -> str:
    """The sample page with another publication number and some values changed."""
    text = SAMPLE_TEXT.replace("IDB-LM-00577", number)
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def run(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def query(home: Path, sparql: str) -> list[dict[str, str]]:
    store = ox.Store.read_only(str(home / "store"))
    result = store.query(sparql, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def titles(home: Path) -> list[str]:
    return sorted(row["t"] for row in query(
        home, "SELECT ?t { ?p a <https://w3id.org/policykg/ontology#Publication> ; "
        "<http://purl.org/dc/terms/title> ?t }"))


def test_loading_the_same_input_twice_changes_nothing(tmp_path: Path):
    source = write(tmp_path, "a.txt", page())
    first = run(tmp_path, "load", str(source))
    store_before = sorted(str(q) for q in ox.Store.read_only(str(tmp_path / "store")))
    second = run(tmp_path, "load", str(source))
    assert "loaded 1" in first.output and "unchanged 1" in second.output
    assert sorted(str(q) for q in ox.Store.read_only(str(tmp_path / "store"))) == store_before


def test_reloading_a_changed_record_replaces_its_graph_wholly(tmp_path: Path):
    run(tmp_path, "load", str(write(tmp_path, "a.txt", page())))
    changed = page(**{"dc.subject.keywordsCaribbean;": "dc.subject.keywordsClusters;",
                      TITLE: "A New Title"})
    result = run(tmp_path, "load", str(write(tmp_path, "a.txt", changed)))
    assert "replaced 1" in result.output
    assert [t[:11] for t in titles(tmp_path)] == ["A New Title"]
    keywords = query(tmp_path, "SELECT ?k { ?p <https://w3id.org/policykg/ontology#keyword> ?k }")
    assert BASE + "id/keyword/caribbean" not in {row["k"] for row in keywords}
    # the keyword no record names any more is gone with its graph
    assert not query(tmp_path, f"SELECT ?p {{ <{BASE}id/keyword/caribbean> ?p ?o }}")


def test_a_person_named_by_two_records_is_described_once(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "a.txt", page("IDB-LM-00001"))
    write(folder, "b.txt", page("IDB-LM-00002", **{"Rabellotti, Roberta": "RABELLOTTI,  Roberta"}))
    run(tmp_path, "load", str(folder))
    names = query(tmp_path, f"SELECT ?n {{ <{BASE}id/person/rabellotti-roberta> "
                            "<http://xmlns.com/foaf/0.1/name> ?n }")
    assert names == [{"n": "Roberta Rabellotti"}]


def test_removing_a_publication_removes_its_graphs(tmp_path: Path):
    run(tmp_path, "load", str(write(tmp_path, "a.txt", page())))
    result = run(tmp_path, "remove", "IDB-LM-00577")
    assert result.exit_code == 0
    assert titles(tmp_path) == []
    assert not query(tmp_path, f"SELECT ?p {{ <{BASE}id/person/conz-elisa> ?p ?o }}")


def test_a_record_with_a_violation_is_quarantined_and_the_rest_loads(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "good.txt", page("IDB-LM-00001"))
    bad = page("IDB-LM-00002").replace("dc.identifier.doihttp://dx.doi.org/10.18235/0004771",
                                       "dc.identifier.doinot-a-doi")
    write(folder, "bad.txt", bad)
    result = run(tmp_path, "load", str(folder))
    assert result.exit_code == 1
    assert "loaded 1" in result.output and "rejected 1" in result.output
    rejected = run(tmp_path, "rejected").output
    assert "IDB-LM-00002" in rejected and "dc.identifier.doi" in rejected
    assert "not-a-doi" in rejected
    # fixing the record and loading it again brings it in and empties the quarantine
    write(folder, "bad.txt", page("IDB-LM-00002"))
    again = run(tmp_path, "load", str(folder))
    assert again.exit_code == 0 and "loaded 1" in again.output
    assert "0 rejected" in run(tmp_path, "rejected").output


BAD_INPUTS = {
    "malformed.xml": (b"<?xml version='1.0'?><OAI-PMH><ListRecords><record>", "malformed.xml"),
    "unknown.bin": (b"\x89PNG\r\n\x1a\n\x00\x00", "unknown.bin"),
    "latin1.txt": (page("IDB-X-1", **{"Rabellotti": "Rabellott\xed"}).encode("latin-1"),
                   "latin1.txt"),
    "empty.txt": (b"", "empty.txt"),
    "notitle.txt": (page("IDB-X-2").replace(
        "dc.titleMainstreaming the Cluster Approach in the Caribbean Region: "
        "The CCPF Cluster Capacity Building Initiative\n", ""), "dc.title"),
    "doi.txt": (page("IDB-X-3", **{"http://dx.doi.org/10.18235/0004771": "not-a-doi"}),
                "dc.identifier.doi"),
    "jel.txt": (page("IDB-X-4", **{"O32 - Management": "Z99 - Management"}), "dc.subject.jelcode"),
    "huge.txt": (page("IDB-X-5", **{"In the Caribbean region, clusters":
                                    "In " + "very " * 420_000 + "clusters"}),
                 "dc.description.abstract"),
    "control.txt": (page("IDB-X-6", **{"Conz, Elisa": "Conz,\x07 Elisa"}),
                    "dc.contributor.author"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_a_one_line_error_naming_it_and_good_records_still_load(
        tmp_path: Path, name: str):
    folder = tmp_path / "in"
    folder.mkdir()
    content, named = BAD_INPUTS[name]
    write(folder, name, content)
    write(folder, "good.txt", page("IDB-LM-00001"))
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "load", str(folder)])
    assert result.exit_code == 1
    assert "loaded 1" in result.output and "rejected 1" in result.output
    errors = [line for line in result.stderr.splitlines() if name in line]
    assert errors and named in errors[0], result.stderr
    assert len(titles(tmp_path)) == 1


def many_pages(folder: Path, count: int) -> None:
    folder.mkdir()
    for number in range(count):
        write(folder, f"r{number:05d}.txt", page(f"IDB-T-{number:05d}"))


def publication_graphs(home: Path) -> list[dict[str, str]]:
    return query(home, """SELECT ?g (COUNT(*) AS ?n) (SAMPLE(?h) AS ?hash) WHERE {
        GRAPH ?g { ?s ?p ?o OPTIONAL { ?g <https://w3id.org/policykg/ontology#contentHash> ?h } }
        FILTER(STRSTARTS(STR(?g), "http://localhost:8000/graph/publication/")) } GROUP BY ?g""")


def test_a_load_killed_midway_leaves_records_wholly_in_or_out_and_rerunning_completes_it(
        tmp_path: Path):
    many_pages(tmp_path / "in", 1500)
    environment = {**os.environ, "POLICYKG_BATCH_SIZE": "50"}
    command = [sys.executable, "-m", "policykg.graph.cli", "--home", str(tmp_path), "load",
               str(tmp_path / "in"), "--quiet"]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if (tmp_path / "store").exists() and len(publication_graphs(tmp_path)) >= 100:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = publication_graphs(tmp_path)
    assert 0 < len(partial) < 1500
    sizes = {row["n"] for row in partial}
    assert len(sizes) == 1 and all(row.get("hash") for row in partial)
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    complete = publication_graphs(tmp_path)
    assert len(complete) == 1500 and {row["n"] for row in complete} == sizes
