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
the figures to WORK/compare-results.json. The servers are bench/compare_servers.py's; what is
timed and how, bench/compare_timing.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
import load as load_bench  # noqa: E402 - bench/ and tests/ are not packages
from compare_servers import (  # noqa: E402
    Server,
    dump_nquads,
    serve_rdflib,
    start_app,
    start_oxigraph,
    start_rdflib,
)
from compare_timing import (  # noqa: E402
    COLUMNS,
    Plan,
    Timing,
    build_store,
    cell,
    plan,
    throughput,
    time_documents,
    time_queries,
)

from policykg.graph.rdf.uris import DEFAULT_BASE, Uris  # noqa: E402
from policykg.graph.store import open_store  # noqa: E402
from policykg.webapp.api.catalogue import catalogue  # noqa: E402

QUERY_BUDGET_MS = 1000.0
OVERHEAD_RATIO = 1.5
FAST_MS = 10.0          # below this on oxigraph, the overhead is judged in milliseconds
FAST_OVERHEAD_MS = 5.0
PAGE_BUDGET_MS = 20.0
PAGES_PER_SECOND = 300.0
MEMORY_MIB = 1024.0


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


# --- report ---------------------------------------------------------------------------------


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
