"""The servers bench/compare.py times side by side, each started on a free port of 127.0.0.1 and
stopped after the run: the app (gunicorn), the ``oxigraph`` server and rdflib-endpoint (over an
N-Quads dump, served by a process that forks a fresh one when a query overruns), and a kept-alive
HTTP connection to any of them.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import load as load_bench
from virtuoso import free_port

from policykg.graph.store import open_store

COMPARE = Path(__file__).resolve().with_name("compare.py")  # the command line
JSON_RESULTS = "application/sparql-results+json"
SPARQL_QUERY = "application/sparql-query"


# --- HTTP ---------------------------------------------------------------------------------


class Connection:
    """One persistent HTTP/1.1 connection, reopened after an error (a stale keep-alive
    connection closed by the server is retried once)."""

    def __init__(self, url: str, timeout: float) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, whole body) of one request."""
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port,
                                                              timeout=self.timeout)
            try:
                self._connection.request(method, path, body=body, headers=headers or {})
                response = self._connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def sparql_request(path: str, text: str) -> tuple[str, str, bytes, dict[str, str]]:
    """A query POSTed directly (the same bytes to every server)."""
    return "POST", path, text.encode(), {"Content-Type": SPARQL_QUERY, "Accept": JSON_RESULTS}


# --- servers ------------------------------------------------------------------------------


@dataclass
class Server:
    """A server this script started: its process group, URL, readiness probe, memory."""

    name: str
    url: str
    query_path: str
    probe: str
    log: Path
    process: subprocess.Popen
    memory: load_bench.TreeMemory
    started_seconds: float = 0.0
    peak_mib: float | None = None
    restarts: int = 0

    def wait_ready(self, deadline_seconds: float) -> float:
        """Seconds until the probe answers 200 (exits when the server ends or never does)."""
        started = time.perf_counter()
        connection = Connection(self.url, 30)
        while time.perf_counter() - started < deadline_seconds:
            if self.process.poll() is not None:
                self.stop()
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
                sys.exit(f"{self.name} exited ({self.process.returncode}):\n{tail}")
            try:
                if connection.request("GET", self.probe)[0] == 200:
                    connection.close()
                    return round(time.perf_counter() - started, 1)
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.5)
        self.stop()
        sys.exit(f"{self.name} did not answer {self.probe} within {deadline_seconds:.0f} s: "
                 f"see {self.log}")

    def restart(self) -> None:
        """rdflib-endpoint only: drop the serving process (still busy with a query that timed
        out) for a fresh fork of the loaded data (SIGUSR1 to the loader, see serve_rdflib)."""
        os.kill(self.process.pid, signal.SIGUSR1)
        self.restarts += 1
        print(f"  {self.name} restarted in {self.wait_ready(120)} s", flush=True)

    def stop(self) -> None:
        """Stop the process group (SIGTERM, then SIGKILL); keep the memory peak."""
        self.peak_mib = self.memory.stop()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):  # query processes left behind
            os.killpg(self.process.pid, signal.SIGKILL)


def start(name: str, command: list[str], path: str, probe: str, log: Path,
          deadline_seconds: float, environment: dict[str, str] | None = None) -> Server:
    """Start a server in a session of its own; return it once ``probe`` answers 200."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env=environment)
    server = Server(name, f"http://127.0.0.1:{port}", path, probe, log, process,
                    load_bench.TreeMemory(process.pid, 0.5))
    server.started_seconds = server.wait_ready(deadline_seconds)
    print(f"  {name}: {server.url} ready in {server.started_seconds} s", flush=True)
    return server


def start_app(store: Path, args: argparse.Namespace) -> Server:
    """``policykg serve`` (gunicorn) on the store; ready when /healthz answers 200."""
    command = [str(load_bench.cli_path(args.cli)), "--home", str(args.work / "serve-home"),
               "--store", f"oxigraph:{store}"]
    if args.base:
        command += ["--base", args.base]
    command += ["serve", "--host", "127.0.0.1", "--port", "{port}", "--workers",
                str(args.workers), "--threads", str(args.threads), "--no-sample"]
    environment = {**os.environ, "POLICYKG_QUERY_TIMEOUT": str(args.timeout)}
    return start("app", command, "/sparql", "/healthz", args.work / "logs" / "app.log", 300,
                 environment)


def start_oxigraph(store: Path, args: argparse.Namespace) -> Server:
    """``oxigraph serve-read-only`` with the union of the named graphs as default graph.

    Without ``--timeout-s``: oxigraph 0.5.13 keeps a thread per query alive for the whole
    time-out, so a throughput run of some 50,000 queries ends in HTTP 500 (EAGAIN: no more
    threads). The client's time-out applies instead."""
    binary = Path(sys.executable).parent / "oxigraph"
    if not binary.exists():
        found = shutil.which("oxigraph")
        if not found:
            sys.exit("no oxigraph server: pip install -e '.[bench]'")
        binary = Path(found)
    command = [str(binary), "serve-read-only", "--location", str(store), "--bind",
               "127.0.0.1:{port}", "--union-default-graph"]
    probe = "/query?" + urlencode({"query": "ASK {}"})
    return start("oxigraph", command, "/query", probe, args.work / "logs" / "oxigraph.log", 120)


def start_rdflib(nquads: Path, args: argparse.Namespace) -> Server:
    """rdflib-endpoint under uvicorn (bench/compare.py with --serve-rdflib) over the N-Quads."""
    command = [sys.executable, str(COMPARE), "--serve-rdflib", str(nquads),
               "--port", "{port}"]
    probe = "/sparql?" + urlencode({"query": "ASK {}"})
    return start("rdflib", command, "/sparql", probe, args.work / "logs" / "rdflib.log", 3600)


def serve_rdflib(nquads: Path, port: int) -> None:
    """Serve an N-Quads file with rdflib-endpoint (a Dataset whose default graph is the union
    of its graphs), until stopped."""
    import uvicorn
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    started = time.perf_counter()
    dataset = Dataset(default_union=True)
    dataset.parse(str(nquads), format="nquads")
    print(f"rdflib: {len(dataset)} quads parsed in {time.perf_counter() - started:.0f} s",
          flush=True)
    app = SparqlEndpoint(graph=dataset, path="/sparql", cors_enabled=False)
    gc.freeze()  # fewer pages copied into the forked children
    child = {"pid": 0, "asked": False}

    def renew(*_: object) -> None:
        child["asked"] = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(child["pid"], signal.SIGKILL)

    signal.signal(signal.SIGUSR1, renew)
    while True:
        child["asked"], child["pid"] = False, os.fork()
        if child["pid"] == 0:
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)
            uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
            os._exit(0)
        _, status = os.waitpid(child["pid"], 0)
        if not child["asked"]:
            sys.exit(f"rdflib: the serving process ended by itself ({status})")


def dump_nquads(store: Path, work: Path) -> tuple[Path, int]:
    """The store as N-Quads (reused while the store's quad count is unchanged); quads."""
    with open_store(f"oxigraph:{store}", read_only=True) as opened:
        quads = len(opened.engine)
        target, marker = work / "rdflib.nq", work / "rdflib.json"
        key = {"store": str(store.resolve()), "quads": quads}
        if target.exists() and marker.exists() and json.loads(marker.read_text()) == key:
            return target, quads
        print(f"  dumping {store} ({quads} quads) to {target} ...", flush=True)
        with open(target, "wb") as out:
            opened.dump(out, "nq")
    marker.write_text(json.dumps(key))
    return target, quads
