"""Loading when things go wrong: a record with a violation quarantined, bad input named in one
line, a value the mapping fails on, a load killed midway or whose worker dies; on the embedded
store and on a remote one (each test gets a store of its own holding only the vocabularies:
``vocab_store``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import store_environment
from load_runs import BASE, FIXTURES, cli, page, publication_graphs, query, run, titles, write

from policykg.graph.config import Settings
from policykg.graph.mapping import kinds
from policykg.graph.store import open_store

BACKENDS = ("oxigraph", "virtuoso")


def test_a_record_with_a_violation_is_quarantined_and_the_rest_loads(vocab_store: Settings,
                                                                     tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "good.txt", page("IDB-LM-00001"))
    bad = page("IDB-LM-00002").replace("dc.identifier.doihttp://dx.doi.org/10.18235/0004771",
                                       "dc.identifier.doinot-a-doi")
    write(folder, "bad.txt", bad)
    result = run(vocab_store, "load", str(folder))
    assert result.exit_code == 1
    assert "loaded 1" in result.output and "rejected 1" in result.output
    rejected = run(vocab_store, "rejected").output
    assert "IDB-LM-00002" in rejected and "dc.identifier.doi" in rejected
    assert "not-a-doi" in rejected
    # fixing the record and loading it again brings it in and empties the quarantine
    write(folder, "bad.txt", page("IDB-LM-00002"))
    again = run(vocab_store, "load", str(folder))
    assert again.exit_code == 0 and "loaded 1" in again.output
    assert "0 rejected" in run(vocab_store, "rejected").output


BAD_INPUTS = {
    "malformed.xml": (b"<?xml version='1.0'?><OAI-PMH><ListRecords><record>", "malformed.xml"),
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
    "url.txt": (page("IDB-X-7", **{"Building-Initiative.pdf": "Building-Initiative%zz.pdf"}),
                "dc.identifier.url"),
    "surrogate.json": ((FIXTURES / "rest-IDB-LM-00577.json").read_text("utf-8").replace(
        '"value" : "Mainstreaming', '"value" : "Main\\ud800streaming'), "dc.title"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_a_one_line_error_naming_it_and_good_records_still_load(
        vocab_store: Settings, tmp_path: Path, name: str):
    folder = tmp_path / "in"
    folder.mkdir()
    content, named = BAD_INPUTS[name]
    write(folder, name, content)
    write(folder, "good.txt", page("IDB-LM-00001"))
    result = run(vocab_store, "load", str(folder), catch=True)
    assert result.exit_code == 1
    assert "loaded 1" in result.output and "rejected 1" in result.output
    errors = [line for line in result.stderr.splitlines() if name in line]
    assert errors and named in errors[0], result.stderr
    assert len(titles(vocab_store)) == 1


def test_a_value_the_mapping_fails_on_unexpectedly_rejects_its_record_not_the_load(
        vocab_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Whatever goes wrong with one value (here a kind handler that breaks on it), the
    record is rejected naming the field and the error, and the other records load."""
    handler = kinds.KINDS["page-count"]

    def breaks_on_13(out, rule, fv):
        if fv.value.startswith("13"):
            raise RuntimeError("handler broke")
        handler(out, rule, fv)

    monkeypatch.setitem(kinds.KINDS, "page-count", breaks_on_13)
    folder = tmp_path / "in"
    folder.mkdir()
    extent = "dc.format.extent"
    write(folder, "breaks.txt", page("IDB-LM-00001", **{f"{extent}64": f"{extent}13"}))
    write(folder, "good.txt", page("IDB-LM-00002"))
    result = run(vocab_store, "load", str(folder), catch=True)
    assert result.exit_code == 1, result.output
    assert "loaded 1" in result.output and "rejected 1" in result.output
    rejected = run(vocab_store, "rejected").output
    assert "IDB-LM-00001" in rejected and "dc.format.extent" in rejected
    assert "RuntimeError: handler broke" in rejected


def many_pages(folder: Path, count: int) -> None:
    folder.mkdir()
    for number in range(count):
        write(folder, f"r{number:05d}.txt", page(f"IDB-T-{number:05d}"))


def rows_set(rows: list[dict[str, str]]) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(row.items())) for row in rows}


def settled_publication_graphs(settings: Settings) -> list[dict[str, str]]:
    """The record graphs once two reads half a second apart agree: a remote store may still be
    committing the chunk a killed load had sent, and Virtuoso's read-committed queries can
    see part of a commit in progress."""
    graphs, deadline = publication_graphs(settings), time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.5)
        graphs, before = publication_graphs(settings), graphs
        if rows_set(graphs) == rows_set(before):
            break
    return graphs


def odd_graphs(settings: Settings, graphs: list[dict[str, str]]) -> str:
    """The triples of the graphs whose size is not the most common one, for a failure."""
    sizes = [row["n"] for row in graphs]
    usual = max(set(sizes), key=sizes.count)
    lines = []
    for row in graphs:
        if row["n"] != usual or not row.get("hash"):
            triples = query(settings, f"SELECT * {{ GRAPH <{row['g']}> {{ ?s ?p ?o }} }}")
            lines += [f"{row['g']} ({row['n']} triples, most have {usual}):"]
            lines += [f"  {t['s']} {t['p']} {t['o']}" for t in triples]
    return "\n".join(lines)


def test_a_load_killed_midway_leaves_records_wholly_in_or_out_and_rerunning_completes_it(
        vocab_store: Settings, tmp_path: Path):
    many_pages(tmp_path / "in", 1500)
    environment = {**store_environment(vocab_store), "POLICYKG_BATCH_SIZE": "50"}
    command = [sys.executable, "-m", "policykg.graph.cli", *cli(vocab_store), "load",
               str(tmp_path / "in"), "--quiet"]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if len(publication_graphs(vocab_store)) >= 100:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = settled_publication_graphs(vocab_store)
    assert 0 < len(partial) < 1500
    sizes = {row["n"] for row in partial}
    assert len(sizes) == 1 and all(row.get("hash") for row in partial), odd_graphs(
        vocab_store, partial)
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    complete = publication_graphs(vocab_store)
    assert len(complete) == 1500 and {row["n"] for row in complete} == sizes
    assert text_index_state(vocab_store) == (1500, True)


def text_index_state(settings: Settings) -> tuple[int, bool]:
    """How many publications the text index holds, and whether it is in step with the store."""
    from policykg.graph.rdf.uris import Uris
    from policykg.graph.search.indexing import in_step

    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        return store.text_index().count(), in_step(store, Uris(BASE))


def _die(jobs: list) -> list:
    """A worker process killed as it takes a batch (the out-of-memory killer, say)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return []


def test_a_load_whose_worker_dies_stops_saying_so_and_rerunning_completes_it(
        vocab_store: Settings, tmp_path: Path, monkeypatch):
    from policykg.graph.loading import workers as parallel
    many_pages(tmp_path / "in", 150)
    monkeypatch.setenv("POLICYKG_BATCH_SIZE", "50")  # three batches: the first to a worker
    monkeypatch.setattr(parallel, "_prepare", _die)  # what the forked worker runs
    result = run(vocab_store, "load", str(tmp_path / "in"), "--quiet")
    assert result.exit_code == 3, result.output
    assert "the load stopped: a worker process preparing records died" in result.stderr
    assert "run the same load again" in result.stderr
    monkeypatch.undo()
    monkeypatch.setenv("POLICYKG_BATCH_SIZE", "50")
    again = run(vocab_store, "load", str(tmp_path / "in"), "--quiet")
    assert again.exit_code == 0, again.output
    assert len(publication_graphs(vocab_store)) == 150
