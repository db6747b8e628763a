"""Speed comparison (issue 3): this server, the ``oxigraph`` server and rdflib-endpoint side by
side, in one run, on the same data and the same query text.

    python bench/compare.py --store PATH [--rdflib-store PATH] [--runs 9] [--seconds 20]
    python bench/compare.py --records 10000 [--work DIR]    # builds WORK/store first

Needs ``pip install -e '.[test,bench]'`` (the oxigraph server, rdflib-endpoint, uvicorn).

1. the store: ``--store`` (an embedded store loaded by ``policykg load``, aggregates included),
   or one built from a synthetic corpus of ``--records`` with bench/load.py's machinery;
2. three servers on free ports of 127.0.0.1: ``policykg --store oxigraph:PATH serve``
   (gunicorn); ``oxigraph serve-read-only --union-default-graph`` (the store's union of named
   graphs as default graph, as the app queries it); rdflib-endpoint under uvicorn, over an
   rdflib ``Dataset(default_union=True)`` read from an N-Quads dump of ``--rdflib-store``
   (default: the same store; skipped, saying so, above ``--rdflib-max-quads``: a 10k-record
   store, ~3.1M quads, takes ~4 min and ~6 GB in rdflib);
3. each named query of sparql/*.rq, its parameters the store's most frequent person, keyword
   and operation (bench/queries.py ``heavy_values``) or ``--set`` values, written out as one
   SPARQL text (the catalogue's own ``example``: VALUES blocks and a LIMIT) POSTed as
   ``application/sparql-query`` to every server's endpoint; and the same values through the
   app's named-query API (GET /api/queries/NAME). ``--warm-up`` untimed runs, then ``--runs``
   timed ones (fewer once a query has used ``--query-seconds``), the whole JSON answer read;
   median and p95 ms. A request over ``--timeout`` is reported as "> N s"; rdflib-endpoint,
   which goes on computing (one query at a time), then gets a fresh serving process: the
   loaded data stay in a parent process that forks it again (SIGUSR1);
4. the linked-data documents (HTML and Turtle) of a publication, of the most prolific person and
   of the most used JEL concept on the app;
5. throughput, 16 clients (threads, one persistent connection each) for ``--seconds``: the HTML
   pages of many publications on the app; one cheap named query as SPARQL on each server;
6. memory: the peak of the summed PSS of each server's process tree (gunicorn master, workers
   and their query processes), sampled all along (bench/load.py ``TreeMemory``).

Targets: every named query at most 1 s median (app API and /sparql); the app's /sparql at most
1.5x oxigraph's time on the same text, or at most 5 ms more where oxigraph takes under 10 ms; a
publication page at most 20 ms median; at least 300 pages/s; the app's memory at most 1 GiB.
Clients and servers share the machine's CPUs: the load average and the machine's CPU use during
each throughput run are reported next to the figures, with the CPU time each server's processes
spent per request (what other jobs on the machine change least). Prints markdown tables; writes
the figures to WORK/compare-results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
import load as load_bench  # noqa: E402 - bench/ and tests/ are not packages
import queries as query_bench  # noqa: E402
from virtuoso import free_port  # noqa: E402

from policykg.graph.rdf.uris import DEFAULT_BASE, Uris  # noqa: E402
from policykg.graph.store import open_store  # noqa: E402
from policykg.webapp.api.catalogue import NamedQuery, catalogue  # noqa: E402

QUERY_BUDGET_MS = 1000.0
OVERHEAD_RATIO = 1.5
FAST_MS = 10.0          # below this on oxigraph, the overhead is judged in milliseconds
FAST_OVERHEAD_MS = 5.0
PAGE_BUDGET_MS = 20.0
PAGES_PER_SECOND = 300.0
MEMORY_MIB = 1024.0
JSON_RESULTS = "application/sparql-results+json"
SPARQL_QUERY = "application/sparql-query"
PKG = "https://w3id.org/policykg/ontology#"
MOST_USED_JEL = """SELECT ?concept (COUNT(*) AS ?count) WHERE {{
  ?publication <http://purl.org/dc/terms/subject> ?concept .
  FILTER(STRSTARTS(STR(?concept), "{prefix}"))
}} GROUP BY ?concept ORDER BY DESC(?count) LIMIT 1"""
PUBLICATIONS = f"SELECT ?publication WHERE {{ ?publication a <{PKG}Publication> }}"
COLUMNS = (("app", "app /sparql"), ("api", "app API"), ("oxigraph", "oxigraph"),
           ("rdflib", "rdflib-endpoint"))


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="an embedded store loaded by policykg load "
                        "[build WORK/store from --records synthetic records]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-compare"))
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10_000, help="records per CLI run")
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid-rate", type=float, default=0.03)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--cli", type=Path, help="the policykg executable [next to python]")
    parser.add_argument("--base", help=f"the store's base IRI [{DEFAULT_BASE}]")
    parser.add_argument("--rdflib-store", type=Path, help="the store rdflib-endpoint serves "
                        "[--store]; smaller than --store, its column is on other data")
    parser.add_argument("--rdflib-max-quads", type=int, default=4_000_000)
    parser.add_argument("--no-rdflib", action="store_true")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--warm-up", type=int, default=1, help="untimed calls first [1]; the "
                        "app's /sparql runs in several query processes, each with its own cache")
    parser.add_argument("--query-seconds", type=float, default=60.0,
                        help="timed runs of one query on one server stop after this many s")
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--seconds", type=float, default=20.0, help="per throughput run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the app")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--pages", type=int, default=2000,
                        help="publications whose pages the throughput run cycles through")
    parser.add_argument("--cheap-query", default="jel-breakdown",
                        help="the named query of the SPARQL throughput runs")
    parser.add_argument("--set", action="append", default=[], metavar="QUERY.PARAM=VALUE")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--serve-rdflib", type=Path, help=argparse.SUPPRESS)  # internal
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


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
    """rdflib-endpoint under uvicorn (this script with --serve-rdflib) over the N-Quads."""
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-rdflib", str(nquads),
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


# --- the store and what is timed ------------------------------------------------------------


def build_store(args: argparse.Namespace) -> Path:
    """WORK/store from a synthetic corpus of --records (bench/load.py), unless already built."""
    store, marker = args.work / "store", args.work / "store-records.json"
    wanted = {"records": args.records, "seed": args.seed, "invalid_rate": args.invalid_rate}
    if store.exists() and marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"reusing {store} ({args.records} records)", flush=True)
        return store
    manifest, _ = load_bench.ensure_corpus(args.work / "corpus", args)
    batches = load_bench.make_batches(args.work / "corpus", manifest, args.batch,
                                      args.work / "batches")
    shutil.rmtree(store, ignore_errors=True)
    (args.work / "logs").mkdir(exist_ok=True)
    for number, batch in enumerate(batches, start=1):
        done = load_bench.load_batch(number, batch, store, args.work / "logs", args)
        print(f"  batch {number}/{len(batches)}: {done.records} records in "
              f"{done.seconds:.0f} s", flush=True)
    marker.write_text(json.dumps(wanted))
    return store


@dataclass
class Plan:
    """What is timed: the queries' values and texts, the documents, the pages to cycle."""

    quads: int
    publications: int
    values: dict[str, dict[str, str]]
    texts: dict[str, str]
    documents: dict[str, str]
    page_paths: list[str]


def final_text(query: NamedQuery, values: dict[str, str], uris: Uris) -> str:
    """The query with these values as the catalogue writes it out (``NamedQuery.example``:
    the values in VALUES blocks, the limit as LIMIT)."""
    parameters = tuple(replace(p, default=values.get(p.name, p.default))
                       for p in query.parameters)
    return replace(query, parameters=parameters).example(uris)


def plan(store: Path, args: argparse.Namespace, uris: Uris) -> Plan:
    """Parameter values, query texts and IRIs picked from the store."""
    with open_store(f"oxigraph:{store}", read_only=True) as opened:
        queries = {name: q for name, q in catalogue().items()
                   if not args.only or name in args.only or name == args.cheap_query}
        types = {"person"} | {p.type.name for q in queries.values() for p in q.parameters}
        heavy = query_bench.heavy_values(opened, uris, types)
        given = dict(item.split("=", 1) for item in args.set)
        values = {name: query_bench.arguments(q, heavy, given) for name, q in queries.items()}
        texts = {name: final_text(q, values[name], uris) for name, q in queries.items()}
        publications = [row["publication"].value for row in opened.query(PUBLICATIONS)]
        jel = [row["concept"].value for row in opened.query(
            MOST_USED_JEL.format(prefix=uris.id("jel", "")))]
        quads = len(opened.engine)
    if not publications:
        sys.exit(f"{store} holds no publication")
    person = str(uris.id("person", heavy["person"])) if "person" in heavy else None
    chosen = {"publication": random.Random(args.seed).choice(publications), "person": person,
              "jel": jel[0] if jel else None}
    documents = {kind: doc_path(iri, uris) for kind, iri in chosen.items() if iri}
    sample = random.Random(args.seed).sample(publications, min(args.pages, len(publications)))
    return Plan(quads, len(publications), values, texts, documents,
                [doc_path(iri, uris) + ".html" for iri in sample])


def doc_path(iri: str, uris: Uris) -> str:
    """The document path of a thing's IRI: /doc/{kind}/{key} (linked_data.py)."""
    kind, key = uris.split(iri)
    return f"/doc/{kind}/{key}"


# --- timing ---------------------------------------------------------------------------------


@dataclass
class Timing:
    """Timed runs of one request: milliseconds, rows (or bytes), and what went wrong."""

    times: list[float] = field(default_factory=list)
    size: int | None = None
    problem: str | None = None   # "timeout" or an error message

    def figures(self) -> dict:
        """The JSON figures."""
        out = {"runs": len(self.times), "size": self.size, "problem": self.problem}
        if self.times:
            out |= {"median_ms": round(statistics.median(self.times), 2),
                    "p95_ms": round(query_bench.percentile(self.times, 0.95), 2)}
        return out


def measure(call: Callable[[], int], args: argparse.Namespace) -> Timing:
    """``--warm-up`` calls, then up to ``--runs`` timed calls (until they have used
    ``--query-seconds``)."""
    timing, runs, budget_seconds = Timing(), args.runs, args.query_seconds
    try:
        for _ in range(args.warm_up):
            timing.size = call()
        spent = 0.0
        while len(timing.times) < runs and (not timing.times or spent < budget_seconds):
            started = time.perf_counter()
            timing.size = call()
            timing.times.append((time.perf_counter() - started) * 1000)
            spent += timing.times[-1] / 1000
    except TimeoutError:
        timing.problem = "timeout"
    except (OSError, http.client.HTTPException, ValueError) as error:
        timing.problem = f"{type(error).__name__}: {error}"[:200]
    return timing


def rows_of(status: int, body: bytes) -> int:
    """The number of solutions of a JSON results answer (ValueError when not 200)."""
    if status != 200:
        message = body[:150].decode(errors="replace")
        if re.search(r"(?i)time ?out|timed out|longer than the limit", message):
            raise TimeoutError(message)  # the app's own limit (POLICYKG_QUERY_TIMEOUT)
        raise ValueError(f"HTTP {status}: {message}")
    answer = json.loads(body)
    return len(answer["results"]["bindings"]) if "results" in answer else 1


def time_queries(servers: dict[str, Server], the_plan: Plan, args: argparse.Namespace
) -> dict[str, dict[str, Timing]]:
    """Each named query on each server: /sparql (app), API (app), /query, /sparql (rdflib)."""
    connections = {name: Connection(server.url, args.timeout) for name, server in
                   servers.items()}
    results = {}
    for name in sorted(the_plan.texts):
        if args.only and name not in args.only:
            continue
        text, row = the_plan.texts[name], {}
        for label, server in servers.items():
            def post(label: str = label, path: str = server.query_path, text: str = text) -> int:
                return rows_of(*connections[label].request(*sparql_request(path, text)))

            row[label] = measure(post, args)
            if label == "rdflib" and row[label].problem == "timeout":
                print(f"  rdflib-endpoint: {name} over {args.timeout:.0f} s", flush=True)
                server.restart()
        api = f"/api/queries/{name}?" + urlencode(the_plan.values[name])

        def get(path: str = api) -> int:
            return rows_of(*connections["app"].request("GET", path, None,
                                                       {"Accept": JSON_RESULTS}))

        row["api"] = measure(get, args)
        results[name] = row
        print(f"  {name}: " + ", ".join(f"{label} {cell(row.get(label), args.timeout)}"
                                        for label, _ in COLUMNS if label in row), flush=True)
    for connection in connections.values():
        connection.close()
    return results


def time_documents(app: Server, the_plan: Plan, args: argparse.Namespace) -> dict[str, Timing]:
    """The HTML and Turtle documents of a publication, a person and a JEL concept."""
    connection = Connection(app.url, args.timeout)
    results = {}
    for kind, path in the_plan.documents.items():
        status, _ = connection.request("GET", path.replace("/doc/", "/id/", 1))
        if status != 303:
            print(f"  {kind}: /id/ answered {status}, not 303", flush=True)
        for extension in ("html", "ttl"):
            def get(url: str = f"{path}.{extension}") -> int:
                status, body = connection.request("GET", url)
                if status != 200:
                    raise ValueError(f"HTTP {status} for {url}")
                return len(body)

            results[f"{kind}.{extension}"] = measure(get, args)
    connection.close()
    return results


# --- throughput and CPU ---------------------------------------------------------------------


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far (/proc/stat), in jiffies."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    ticks = 0
    for member in load_bench._descendants(pid):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def hammer(server: Server, request: Callable[[int], tuple[str, str, bytes | None, dict]],
           args: argparse.Namespace) -> dict:
    """``--clients`` threads, one connection each, requesting for ``--seconds``; with the CPU
    time the server's processes spent per request (what the machine's load does not change
    much, unlike requests/s)."""
    url = server.url
    stop_at = time.monotonic() + args.seconds
    done: list[list[float]] = [[] for _ in range(args.clients)]
    errors: list[Counter[str]] = [Counter() for _ in range(args.clients)]

    def client(index: int) -> None:
        connection, number = Connection(url, args.timeout), index
        while time.monotonic() < stop_at:
            method, path, body, headers = request(number)
            number += args.clients
            started = time.perf_counter()
            try:
                status, _ = connection.request(method, path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                errors[index][type(error).__name__] += 1
                time.sleep(0.05)
                continue
            if status == 200:
                done[index].append((time.perf_counter() - started) * 1000)
            else:
                errors[index][f"HTTP {status}"] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(args.clients)]
    load, busy, cpu = os.getloadavg()[0], cpu_jiffies(), time.process_time()
    server_cpu = tree_cpu_seconds(server.process.pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    after, server_cpu = cpu_jiffies(), tree_cpu_seconds(server.process.pid) - server_cpu
    times = [t for client_times in done for t in client_times]
    kinds = sum(errors, Counter())
    return {"requests": len(times), "errors": kinds.total(), "error_kinds": dict(kinds),
            "seconds": round(seconds, 1),
            "per_second": round(len(times) / seconds, 1),
            "median_ms": round(statistics.median(times), 1) if times else None,
            "p95_ms": round(query_bench.percentile(times, 0.95), 1) if times else None,
            "server_cpu_ms_per_request": round(1000 * server_cpu / len(times), 2)
            if times else None,
            "machine_cpu_busy": round((after[0] - busy[0]) / max(1, after[1] - busy[1]), 2),
            "client_cpu_share": round((time.process_time() - cpu) / seconds
                                      / (os.cpu_count() or 1), 2),
            "load_average_before": round(load, 2)}


def throughput(servers: dict[str, Server], the_plan: Plan,
               args: argparse.Namespace) -> dict[str, dict]:
    """Pages on the app; the cheap query as SPARQL on every server."""
    results = {}
    paths = the_plan.page_paths
    print(f"  publication pages on the app ({len(paths)} publications) ...", flush=True)
    results["pages app"] = hammer(servers["app"],
                                  lambda n: ("GET", paths[n % len(paths)], None, {}), args)
    text = the_plan.texts[args.cheap_query]
    for name, server in servers.items():
        print(f"  {args.cheap_query} on {name} ...", flush=True)
        results[f"{args.cheap_query} {name}"] = hammer(
            server, lambda _, path=server.query_path: sparql_request(path, text), args)
    return results


# --- report ---------------------------------------------------------------------------------


def cell(timing: Timing | None, timeout: float) -> str:
    """'median / p95' ms of a timing, '> N s' on a time-out, '-' when not run."""
    if timing is None:
        return "-"
    if timing.problem == "timeout":
        return f"> {timeout:.0f} s"
    if timing.problem:
        return "error"
    shown = f"{statistics.median(timing.times):.1f} / " \
            f"{query_bench.percentile(timing.times, 0.95):.1f}"
    return shown + (f" (n={len(timing.times)})" if len(timing.times) < 3 else "")


def median(timing: Timing | None) -> float | None:
    """The median ms of a timing that went through, else None."""
    return statistics.median(timing.times) if timing and timing.times else None


def verdict(row: dict[str, Timing]) -> tuple[dict, list[str]]:
    """The targets of one query: within 1 s, and the app's overhead over oxigraph."""
    app, api, oxigraph = (median(row.get(k)) for k in ("app", "api", "oxigraph"))
    figures, failed = {}, []
    slowest = max((m for m in (app, api) if m is not None), default=None)
    figures["within_1s"] = slowest is not None and slowest <= QUERY_BUDGET_MS
    if not figures["within_1s"]:
        failed.append("over 1 s")
    if app is not None and oxigraph:
        figures["overhead_ratio"] = round(app / oxigraph, 2)
        figures["overhead_ms"] = round(app - oxigraph, 2)
        if oxigraph < FAST_MS:
            figures["overhead_ok"] = app - oxigraph <= FAST_OVERHEAD_MS
        else:
            figures["overhead_ok"] = app / oxigraph <= OVERHEAD_RATIO
        if not figures["overhead_ok"]:
            failed.append("overhead")
    return figures, failed


def query_table(results: dict[str, dict[str, Timing]], the_plan: Plan, timeout: float,
                rdflib_label: str) -> str:
    """Per named query: each server's median / p95 ms, the overhead, the targets."""
    head = ["query", "parameters", "rows"] + [
        (f"{rdflib_label}" if key == "rdflib" else title) + " ms" for key, title in COLUMNS
    ] + ["app / oxigraph", "targets"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 3) + "---|"]
    for name, row in results.items():
        figures, failed = verdict(row)
        reference = row.get("oxigraph") or row.get("app")
        cells = []
        for key, _ in COLUMNS:
            text = cell(row.get(key), timeout)
            size = row[key].size if key in row else None
            if key in row and row[key].times and size != reference.size:
                text += f" [{size} rows]"
            cells.append(text)
        ratio = (f"{figures['overhead_ratio']:.2f}x ({figures['overhead_ms']:+.1f} ms)"
                 if "overhead_ratio" in figures else "-")
        shown = ", ".join(f"{k}={v}" for k, v in the_plan.values[name].items()) or "defaults"
        lines.append(f"| {name} | {shown} | {reference.size} | " + " | ".join(cells)
                     + f" | {ratio} | {'yes' if not failed else '**no**: ' + ', '.join(failed)}"
                     " |")
    return "\n".join(lines)


def document_table(results: dict[str, Timing], the_plan: Plan, timeout: float) -> str:
    """The linked-data documents on the app."""
    lines = ["| document | path | bytes | median / p95 ms |", "|---|---|---:|---:|"]
    for key, timing in results.items():
        kind, extension = key.split(".")
        lines.append(f"| {kind} {extension.upper()} | {the_plan.documents[kind]}.{extension} | "
                     f"{timing.size} | {cell(timing, timeout)} |")
    return "\n".join(lines)


def throughput_table(results: dict[str, dict], clients: int) -> str:
    """Requests per second with ``clients`` concurrent clients."""
    lines = [f"| load ({clients} clients) | requests/s | median ms | p95 ms | errors | "
             "server CPU ms / request | machine CPU busy | client's share | load avg before |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['per_second']:.1f} | {r['median_ms']} | {r['p95_ms']} | "
                     f"{r['errors']}{errors_shown(r['error_kinds'])} | "
                     f"{r['server_cpu_ms_per_request']} | {r['machine_cpu_busy']:.0%} | "
                     f"{r['client_cpu_share']:.0%} | {r['load_average_before']} |")
    return "\n".join(lines)


def errors_shown(kinds: dict[str, int]) -> str:
    """' (ConnectionResetError: 3, HTTP 503: 1)', or nothing."""
    return f" ({', '.join(f'{k}: {n}' for k, n in kinds.items())})" if kinds else ""


def targets_table(figures: dict) -> str:
    """The issue's targets, met or not."""
    yes = {True: "yes", False: "**no**", None: "-"}
    queries = figures["queries"]
    slow = [n for n, q in queries.items() if not q["targets"]["within_1s"]]
    over = [n for n, q in queries.items() if q["targets"].get("overhead_ok") is False]
    page = figures["documents"].get("publication.html", {}).get("median_ms")
    pages = figures["throughput"]["pages app"]["per_second"]
    memory = figures["memory_mib"].get("app")
    rows = [
        ("every named query <= 1 s median (API and /sparql)",
         ", ".join(slow) or f"all {len(queries)}", not slow),
        (f"app /sparql <= {OVERHEAD_RATIO}x oxigraph (<= +{FAST_OVERHEAD_MS:.0f} ms under "
         f"{FAST_MS:.0f} ms)", ", ".join(over) or "all within", not over),
        (f"publication page <= {PAGE_BUDGET_MS:.0f} ms median", f"{page} ms",
         page is not None and page <= PAGE_BUDGET_MS),
        (f">= {PAGES_PER_SECOND:.0f} pages/s", f"{pages} pages/s", pages >= PAGES_PER_SECOND),
        (f"app memory <= {MEMORY_MIB / 1024:.0f} GiB (peak PSS of its processes)",
         f"{memory:.0f} MiB" if memory else "-", None if memory is None else memory <= MEMORY_MIB),
    ]
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {goal} | {measured} | {yes[met]} |" for goal, measured, met in rows]
    return "\n".join(lines)


def versions() -> dict[str, str | None]:
    """Versions of the servers' packages."""
    found = {}
    for package in ("policykg", "pyoxigraph", "oxigraph", "rdflib", "rdflib-endpoint",
                    "uvicorn", "gunicorn", "flask"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


# --- main -----------------------------------------------------------------------------------


def rdflib_source(store: Path, args: argparse.Namespace) -> tuple[Path | None, str]:
    """The N-Quads rdflib-endpoint serves (None: skipped) and how the report names it."""
    if args.no_rdflib:
        return None, "rdflib-endpoint skipped (--no-rdflib)"
    source = args.rdflib_store or store
    nquads, quads = None, None
    with open_store(f"oxigraph:{source}", read_only=True) as opened:
        quads = len(opened.engine)
    if quads > args.rdflib_max_quads:
        return None, (f"rdflib-endpoint skipped: {source} holds {quads:,} quads, over "
                      f"--rdflib-max-quads {args.rdflib_max_quads:,} (rdflib holds the whole "
                      "graph in memory; give a smaller store with --rdflib-store)")
    nquads, _ = dump_nquads(source, args.work)
    note = "" if source == store else f" on {source} ({quads:,} quads): other data"
    return nquads, f"rdflib-endpoint{note}"


def main(argv: list[str] | None = None) -> int:
    """Start the servers, time them, report; stop every server in any case."""
    args = arguments(argv)
    if args.serve_rdflib:
        serve_rdflib(args.serve_rdflib, args.port)
        return 0
    args.work = args.work.resolve()
    (args.work / "logs").mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below
    store = (args.store or build_store(args)).resolve()
    uris = Uris(args.base or DEFAULT_BASE)
    if args.cheap_query not in catalogue():
        sys.exit(f"--cheap-query: no query named {args.cheap_query}")
    print(f"picking parameter values and IRIs in {store} ...", flush=True)
    the_plan = plan(store, args, uris)
    nquads, rdflib_label = rdflib_source(store, args)
    servers: dict[str, Server] = {}
    figures = {"store": str(store), "quads": the_plan.quads, "publications": the_plan.publications,
               "rdflib": rdflib_label, "runs": args.runs, "clients": args.clients,
               "environment": {**load_bench.environment(), "packages": versions()},
               "load_average_start": os.getloadavg()}
    try:
        print("starting the servers ...", flush=True)
        servers["app"] = start_app(store, args)
        servers["oxigraph"] = start_oxigraph(store, args)
        if nquads:
            servers["rdflib"] = start_rdflib(nquads, args)
        else:
            print(f"  {rdflib_label}", flush=True)
        figures["startup_seconds"] = {n: s.started_seconds for n, s in servers.items()}
        print(f"timing {len(the_plan.texts)} named queries (load average "
              f"{os.getloadavg()[0]:.1f}) ...", flush=True)
        results = time_queries(servers, the_plan, args)
        print("timing linked-data documents ...", flush=True)
        documents = time_documents(servers["app"], the_plan, args)
        print(f"throughput, {args.clients} clients, {args.seconds:.0f} s each ...", flush=True)
        figures["throughput"] = throughput(servers, the_plan, args)
    finally:
        for server in servers.values():
            server.stop()
    figures["memory_mib"] = {name: round(s.peak_mib or 0.0, 1) for name, s in servers.items()}
    figures["rdflib_restarts"] = servers["rdflib"].restarts if "rdflib" in servers else None
    figures["queries"] = {name: {"text": the_plan.texts[name], "values": the_plan.values[name],
                                 **{k: t.figures() for k, t in row.items()},
                                 "targets": verdict(row)[0]}
                          for name, row in results.items()}
    figures["documents"] = {key: {"path": the_plan.documents[key.split(".")[0]], **t.figures()}
                            for key, t in documents.items()}
    figures["load_average_end"] = os.getloadavg()
    report = "\n\n".join([
        f"store {store}: {the_plan.quads:,} quads, {the_plan.publications:,} publications; "
        f"{args.runs} runs each after a warm-up; median / p95 ms; {rdflib_label}; "
        f"{os.cpu_count()} CPUs shared by clients and servers (load average at start "
        f"{figures['load_average_start'][0]:.1f}, at end {figures['load_average_end'][0]:.1f})",
        query_table(results, the_plan, args.timeout, "rdflib-endpoint"),
        document_table(documents, the_plan, args.timeout),
        throughput_table(figures["throughput"], args.clients),
        "| server | peak memory (PSS of its processes, MiB) | started in (s) |\n|---|---:|---:|\n"
        + "\n".join(f"| {n} | {m:.0f} | {figures['startup_seconds'].get(n)} |"
                    for n, m in figures["memory_mib"].items()),
        targets_table(figures),
    ])
    figures["markdown"] = report
    out = args.work / "compare-results.json"
    out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print("\n" + report + f"\n\nfigures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
