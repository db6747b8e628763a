"""``policykg serve`` as a user runs it: a real gunicorn with two workers over a fresh home."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import pytest

from policykg.graph.store import open_store

STARTUP_SECONDS = 120  # the first start loads the sample, reasoning included
SAMPLE_LOADED = "loaded the bundled sample record"
SAMPLE_IS_THERE = "ASK { <%sid/publication/IDB-LM-00577> a <%s> }"
PUBLICATION = "https://w3id.org/policykg/ontology#Publication"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command() -> list[str]:
    script = Path(sys.executable).with_name("policykg")
    return [str(script)] if script.exists() else [sys.executable, "-m", "policykg.graph.cli"]


def get(url: str, accept: str = "*/*") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=STARTUP_SECONDS) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def ask(root: str, query: str) -> bool:
    """An ASK query's answer; retried while the query workers are still starting (503)."""
    url = root + "sparql?" + urllib.parse.urlencode({"query": query})
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        status, body = get(url, "application/sparql-results+json")
        if status != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status == 200, body
    return json.loads(body)["boolean"]


class Server:
    """One ``policykg --home HOME serve`` process, its output in files."""

    def __init__(self, home: Path, port: int, *options: str, **settings: str) -> None:
        self.home, self.port = home, port
        self.root = f"http://127.0.0.1:{port}/"
        self.log = home.parent / f"serve-{port}-{time.monotonic_ns()}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("POLICYKG_")}
        environment.update({f"POLICYKG_{name.upper()}": value for name, value in settings.items()})
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [*command(), "--home", str(home), "--base", self.root, "serve",
                 "--port", str(port), "--workers", "2", *options],
                stdout=log, stderr=subprocess.STDOUT, env=environment,
            )

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"policykg serve exited {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return  # the master listens: requests queue until a worker takes them
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"policykg serve did not start in {STARTUP_SECONDS}s:\n{self.output()}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"policykg serve ignored SIGTERM:\n{self.output()}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve") / "home"


@pytest.fixture(scope="module")
def first(home: Path) -> Iterator[Server]:
    """The first start: an empty home, so the sample is loaded before the workers fork."""
    server = Server(home, free_port())
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_first_start_loads_the_sample(first: Server):
    assert SAMPLE_LOADED in first.output()
    assert ask(first.root, SAMPLE_IS_THERE % (first.root, PUBLICATION))


def test_home_page_answers(first: Server):
    status, page = get(first.root, "text/html")
    assert status == 200
    assert "IDB-LM-00577" in page
    assert 'href="/sparql"' in page


def test_sparql_answers(first: Server):
    assert ask(first.root, "ASK {}") is True


def test_two_workers(first: Server):
    if not Path("/proc/self/task").exists():
        pytest.skip("no /proc to count the workers")
    assert len(first.workers()) == 2


def test_master_holds_no_write_lock(first: Server):
    """The writable store was released before the fork: `policykg load` can run meanwhile."""
    writer = open_store(f"oxigraph:{first.home / 'store'}")
    del writer


def test_sigterm_stops_cleanly_and_a_second_start_does_not_reload(first: Server, home: Path):
    started = time.monotonic()
    assert first.stop() == 0
    assert time.monotonic() - started < 20, first.output()  # not gunicorn's 30 s kill
    second = Server(home, first.port)
    try:
        second.wait_ready()
        assert ask(second.root, SAMPLE_IS_THERE % (first.root, PUBLICATION))
        status, _ = get(second.root)
        assert status == 200
    finally:
        assert second.stop() == 0
    assert SAMPLE_LOADED not in second.output()


SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # runs to the limit


def fetch(url: str, accept: str = "*/*") -> tuple[int, str, float, dict[str, str]]:
    """A request's status, body, the moment its answer ended, and its headers."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=STARTUP_SECONDS) as response:
            body, status, headers = response.read(), response.status, response.headers
    except urllib.error.HTTPError as error:
        body, status, headers = error.read(), error.code, error.headers
    return status, body.decode("utf-8", "replace"), time.monotonic(), dict(headers)


def test_sparql_queries_never_take_the_threads_pages_need(first: Server, home: Path):
    """A web process of two threads, sparql_threads left at its default of two, serves one
    /sparql query at once: a second is refused at once (503, Retry-After) rather than queued,
    and the home page is served while the first runs to its time limit."""
    first.stop()
    server = Server(home, free_port(), "--workers", "1", "--threads", "2", query_timeout="6")
    try:
        server.wait_ready()
        ask(server.root, "ASK {}")  # the query processes are up
        url = server.root + "sparql?" + urllib.parse.urlencode({"query": SLOW})
        with ThreadPoolExecutor(2) as clients:
            queries = [clients.submit(fetch, url, "application/sparql-results+json")
                       for _ in range(2)]
            wait(queries, return_when=FIRST_COMPLETED)
            page_status, _, page_end, _ = fetch(server.root, "text/html")
            refused, ran = sorted((query.result() for query in queries), key=lambda end: end[2])
    finally:
        server.stop()
    assert refused[0] == 503 and "/sparql queries is busy" in refused[1]
    assert refused[3]["Retry-After"]
    assert page_status == 200 and page_end < ran[2]
    assert ran[0] == 503 and "limit of 6 s" in ran[1]
