"""The remote store on a real Virtuoso in operation: credentials kept out of sight, time
limits, a store that goes down and comes back, a load the store fails, two servers sharing one
store, and the kept-alive query connections.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, UPDATE_TOKEN, fetch, start_server, store_environment
from remote_fixtures import EX, emptied_virtuoso, node  # noqa: F401 - ``server``
from virtuoso import Virtuoso, free_port

from policykg.graph.cli import main
from policykg.graph.config import Settings
from policykg.graph.store import StoreError, StoreTimeout, StoreUnavailable
from policykg.graph.store.remote import RemoteStore

SECRET = "pw-Zq7-never-shown"


@pytest.fixture
def loadable(virtuoso: Virtuoso) -> Iterator[Virtuoso]:
    """The session's Virtuoso holding only the vocabularies, its state unknown afterwards."""
    virtuoso.vocabularies()
    virtuoso.dirty()
    yield virtuoso
    if virtuoso.process is None or virtuoso.process.poll() is not None:
        virtuoso.start()
    virtuoso.dirty()


# --- credentials ---------------------------------------------------------------------------


def test_credentials_appear_in_no_message_log_or_page(loadable, tmp_path, caplog):
    server = loadable
    right = server.settings(Settings(home=str(tmp_path)))
    wrong = replace(right, store_password=SECRET, update_token=UPDATE_TOKEN)
    assert SECRET not in repr(wrong)
    store = RemoteStore.from_settings(wrong.store, wrong)
    assert SECRET not in repr(store) and SECRET not in repr(store.endpoints)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as error:
        store.replace([], [ox.Quad(node("s"), node("p"), node("o"), node("g"))])
    assert "credentials" in str(error.value) and SECRET not in str(error.value)
    with pytest.raises(ValueError) as error:
        RemoteStore.from_settings(f"sparql+http://dba:{SECRET}@127.0.0.1:1/sparql", right)
    assert SECRET not in str(error.value)
    live = start_server(wrong)
    try:
        reply = fetch(live.url + "/sparql/update", "POST", data={"update": "CLEAR ALL"},
                      headers={"Authorization": f"Bearer {UPDATE_TOKEN}"})
        assert reply.status >= 400 and SECRET not in reply.text
        for path in ("/healthz", "/sparql", "/"):
            assert SECRET not in fetch(live.url + path).text
    finally:
        live.stop()
    environment = {**store_environment(wrong)}
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "--store", wrong.store,
                                       "load", str(SAMPLE)], env=environment)
    assert result.exit_code != 0
    assert SECRET not in result.output and SECRET not in (result.stderr or "")
    assert all(SECRET not in record.getMessage() for record in caplog.records)


# --- time limits and a store that is down ----------------------------------------------------


@pytest.fixture
def silent_store() -> Iterator[str]:
    """An address that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"sparql+http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    stop.set()
    thread.join(2)
    for connection in held:
        connection.close()
    listener.close()


def test_every_request_has_a_time_limit(silent_store, tmp_path):
    settings = Settings(home=str(tmp_path), store=silent_store, store_timeout=1.0,
                        store_user="u", store_password=SECRET, query_timeout=1.0)
    store = RemoteStore.from_settings(silent_store, settings)
    for operation in (lambda: store.query("ASK {}"), lambda: store.graph_names(""),
                      lambda: store.replace(["http://x/g"], [])):
        start = time.monotonic()
        with pytest.raises(StoreTimeout):
            operation()
        assert time.monotonic() - start < 5
    live = start_server(settings)
    try:
        for path, params in (("/sparql", {"query": "ASK {}"}), ("/healthz", None), ("/", None)):
            start = time.monotonic()
            reply = fetch(live.url + path, params=params)
            assert reply.status == 503 and time.monotonic() - start < 10, path
            assert SECRET not in reply.text
    finally:
        live.stop()


def test_the_app_keeps_its_limits_on_a_remote_store(server, tmp_path):
    """The time limit (the store's request times out: 503), the refusal of SERVICE and LOAD,
    and the row cap hold with the store doing the evaluating."""
    remote = server.store()
    remote.replace([], [ox.Quad(node(f"s{i}"), node("p"), ox.Literal(f"v{i}"), node("g"))
                        for i in range(3000)])
    remote.close()
    settings = server.settings(Settings(home=str(tmp_path), query_timeout=1.0, max_rows=100,
                                        update_token=UPDATE_TOKEN))
    live = start_server(settings)
    try:
        slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) < STR(?f)) }"
        start = time.monotonic()
        reply = fetch(live.url + "/sparql", params={"query": slow})
        assert reply.status == 503 and "limit" in reply.text
        assert time.monotonic() - start < 5
        refused = fetch(live.url + "/sparql", params={
            "query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
        assert refused.status == 400 and "SERVICE" in refused.text
        load = fetch(live.url + "/sparql/update", "POST",
                     data={"update": "LOAD <http://127.0.0.1:9/x.ttl>"},
                     headers={"Authorization": f"Bearer {UPDATE_TOKEN}"})
        assert load.status == 400 and "LOAD" in load.text
        capped = fetch(live.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert capped.headers["X-Result-Truncated"] == "true"
        assert len(capped.json()["results"]["bindings"]) == 100
    finally:
        live.stop()


def test_store_down_at_start_then_back(server, tmp_path):
    settings = server.settings(Settings(home=str(tmp_path), query_timeout=5.0))
    server.stop()
    live = start_server(settings)  # the app starts without its store
    try:
        down = fetch(live.url + "/sparql", params={"query": "ASK {}"})
        assert down.status == 503 and "not reachable" in down.text
        assert down.headers["Retry-After"]
        page = fetch(live.url + "/", headers={"Accept": "text/html"})
        assert page.status == 503 and "not available" in page.text
        health = fetch(live.url + "/healthz")
        assert health.status == 503 and health.json()["store"]["reachable"] is False
        server.start()
        assert fetch(live.url + "/sparql", params={"query": "ASK {}"}).status == 200
        assert fetch(live.url + "/").status == 200
        health = fetch(live.url + "/healthz")
        assert health.status == 200 and health.json()["store"]["reachable"] is True
        assert set(health.json()["counts"]) == {"records", "triples"}
    finally:
        live.stop()


def test_a_load_the_store_fails_says_what_was_written_and_completes_when_run_again(
        loadable, tmp_path):
    server = loadable
    from load_runs import page, publication_graphs, write

    folder = tmp_path / "in"
    folder.mkdir()
    for number in range(300):
        write(folder, f"r{number:04d}.txt", page(f"IDB-F-{number:04d}"))
    settings = server.settings(Settings(home=str(tmp_path)))
    environment = {**store_environment(settings), "POLICYKG_BATCH_SIZE": "20"}
    command = [sys.executable, "-m", "policykg.graph.cli", "--home", str(tmp_path), "--store",
               settings.store, "load", str(folder), "--quiet"]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(publication_graphs(settings)) < 60:
        time.sleep(0.2)
    server.kill()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, (out, err)
    assert "the load stopped" in err and "written:" in err and "run the same load again" in err
    listed = (tmp_path / "load-interrupted.txt").read_text().splitlines()
    written = [line.split()[1] for line in listed if line.startswith("written ")]
    unwritten = [line.split()[1] for line in listed if line.startswith("not-written ")]
    # 60 graphs were in the store at the kill; the batch being written then (20 records) may
    # have been in it without being finished, so not reported written
    assert 60 - 20 <= len(written) < 300 and unwritten and f"from {unwritten[0]} on" in err
    server.start()
    present = {row["g"].rsplit("/", 1)[-1] for row in publication_graphs(settings)}
    assert set(written) <= present  # every record said written is in, wholly (below)
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"unchanged {len(present)}" in again.stdout
    complete = publication_graphs(settings)
    assert len(complete) == 300 and len({row["n"] for row in complete}) == 1
    lists = server.store().query("SELECT ?p (COUNT(?l) AS ?n) WHERE { ?p "
                                 "<http://purl.org/ontology/bibo/authorList> ?l } GROUP BY ?p")
    assert {row["n"].value for row in lists} == {"1"}  # nothing written twice


# --- several servers -------------------------------------------------------------------------


def serve(settings: Settings, port: int, home: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "policykg.graph.cli", "--home", str(home), "--store",
               settings.store, "serve", "--port", str(port), "--workers", "2", "--no-sample"]
    environment = {**store_environment(settings), "POLICYKG_UPDATE_TOKEN": UPDATE_TOKEN}
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            if fetch(url + "/healthz", timeout=5).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not become healthy")


def test_two_servers_share_one_store(loadable, tmp_path):
    server = loadable
    settings = server.settings(Settings(home=str(tmp_path)))
    ports = [free_port(), free_port()]
    processes = [serve(settings, port, tmp_path / f"home{n}") for n, port in enumerate(ports)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_healthy(url, process)
        insert = f"INSERT DATA {{ GRAPH <{EX}shared> {{ <{EX}a> <{EX}p> \"seen by all\" }} }}"
        reply = fetch(urls[0] + "/sparql/update", "POST", data={"update": insert},
                      headers={"Authorization": f"Bearer {UPDATE_TOKEN}"})
        assert reply.status == 204, reply.text
        ask = f"ASK {{ <{EX}a> <{EX}p> \"seen by all\" }}"
        for _ in range(4):  # several requests: both workers of each server
            for url in urls:
                assert fetch(url + "/sparql", params={"query": ask}).json()["boolean"] is True
        loaded = subprocess.run([sys.executable, "-m", "policykg.graph.cli", "--home",
                                 str(tmp_path), "--store", settings.store, "load", str(SAMPLE)],
                                env=store_environment(settings), capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stderr
        for url in urls:
            page = fetch(url + "/id/publication/IDB-LM-00577", headers={"Accept": "text/turtle"})
            assert page.status in (200, 303)
            counts = json.loads(fetch(url + "/healthz").body)["counts"]
            assert counts["records"] >= 0
            found = fetch(url + "/sparql", params={
                "query": "ASK { ?p <http://purl.org/dc/terms/title> ?t }"}).json()
            assert found["boolean"] is True
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


# --- the query connections ---------------------------------------------------------------------


class ScriptedEndpoint:
    """A SPARQL endpoint on 127.0.0.1 that answers ``ASK`` true on kept-alive connections, and
    can drop a connection at its Nth request without answering (as a store does when it closes
    a kept connection while a request is on its way)."""

    ANSWER = b'{"head": {}, "boolean": true}'

    def __init__(self, drop_at: int | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"sparql+http://127.0.0.1:{self.listener.getsockname()[1]}/sparql"
        self.drop_at = drop_at
        self.connections = 0
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        with connection, reader:
            served = 0
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                reader.read(int(length.group(1)) if length else 0)
                self.requests += 1
                served += 1
                if served == self.drop_at:
                    return  # closed without an answer
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results"
                                   b"+json\r\nContent-Length: %d\r\n\r\n%s"
                                   % (len(self.ANSWER), self.ANSWER))

    def close(self) -> None:
        self.listener.close()


def test_queries_share_one_kept_alive_connection():
    endpoint = ScriptedEndpoint()
    store = RemoteStore.from_settings(endpoint.url, Settings(store_timeout=5.0))
    try:
        assert all(bool(store.query("ASK {}")) for _ in range(5))
        assert endpoint.connections == 1 and endpoint.requests == 6  # and the dialect probe
    finally:
        store.close()
        endpoint.close()


def test_a_kept_connection_the_store_dropped_is_replaced_once():
    endpoint = ScriptedEndpoint(drop_at=3)  # every connection: two answers, then dropped
    store = RemoteStore.from_settings(endpoint.url, Settings(store_timeout=5.0))
    try:
        assert all(bool(store.query("ASK {}")) for _ in range(5))
        assert endpoint.connections == 3
    finally:
        store.close()
        endpoint.close()
    endpoint = ScriptedEndpoint(drop_at=1)  # no answer ever: unavailable, not retried forever
    store = RemoteStore.from_settings(endpoint.url, Settings(store_timeout=5.0))
    try:
        with pytest.raises(StoreUnavailable, match="not reachable"):
            store.query("ASK {}")
        assert endpoint.connections == 2  # the request, and once more
    finally:
        store.close()
        endpoint.close()
