"""What bench/compare.py times and how: the store (given or built), the plan (each named query's
text with the store's heaviest values, the documents of its most used things), each request
timed (median, p95, what went wrong) and throughput with the CPU the servers spent.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlencode

import load as load_bench
import queries as query_bench
from compare_servers import JSON_RESULTS, Connection, Server, sparql_request

from policykg.graph.rdf.uris import Uris
from policykg.graph.store import open_store
from policykg.webapp.api.catalogue import NamedQuery, catalogue

PKG = "https://w3id.org/policykg/ontology#"
MOST_USED_JEL = """SELECT ?concept (COUNT(*) AS ?count) WHERE {{
  ?publication <http://purl.org/dc/terms/subject> ?concept .
  FILTER(STRSTARTS(STR(?concept), "{prefix}"))
}} GROUP BY ?concept ORDER BY DESC(?count) LIMIT 1"""
PUBLICATIONS = f"SELECT ?publication WHERE {{ ?publication a <{PKG}Publication> }}"
COLUMNS = (("app", "app /sparql"), ("api", "app API"), ("oxigraph", "oxigraph"),
           ("rdflib", "rdflib-endpoint"))


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
