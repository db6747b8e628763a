"""Page throughput alone (issue 3's 300 pages/s): the app's HTML pages of many publications
under concurrent clients, as in bench/compare.py's throughput run but without the named
queries and the other servers, so that it can be repeated quickly.

    python bench/pages.py --store STORE [--runs 2] [--seconds 20] [--clients 16] [--pages 2000]

Starts ``policykg serve`` (gunicorn, ``--workers`` x ``--threads``) on the store, waits
``--settle`` seconds (the readiness probe's /healthz sets a worker counting every triple: 9 s of
CPU at 100k records, once), then runs ``--runs`` times: ``--clients`` threads with persistent
connections cycle through the pages of ``--pages`` publications picked at random for
``--seconds``. Prints pages/s and the server's CPU ms a page (its processes' user + system time:
what the machine's other load changes least).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import compare  # bench/ is not a package: imported from its folder (compare.py puts it first)

from policykg.graph.rdf.uris import DEFAULT_BASE, Uris
from policykg.graph.store import open_store


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-pages"))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--cli", type=Path, help="the policykg executable [next to python]")
    parser.add_argument("--base", help=f"the store's base IRI [{DEFAULT_BASE}]")
    return parser.parse_args(argv)


def page_paths(store: Path, uris: Uris, count: int, seed: int) -> list[str]:
    """The HTML page paths of ``count`` publications of the store, picked at random."""
    with open_store(f"oxigraph:{store}", read_only=True) as opened:
        found = [row["publication"].value for row in opened.query(compare.PUBLICATIONS)]
    if not found:
        sys.exit(f"{store} holds no publication")
    chosen = random.Random(seed).sample(found, min(count, len(found)))
    return [compare.doc_path(iri, uris) + ".html" for iri in chosen]


def main(argv: list[str] | None = None) -> int:
    """Start the app, let it settle, hammer its pages ``--runs`` times; stop it in any case."""
    args = arguments(argv)
    args.work = args.work.resolve()
    (args.work / "logs").mkdir(parents=True, exist_ok=True)
    store = args.store.resolve()
    paths = page_paths(store, Uris(args.base or DEFAULT_BASE), args.pages, args.seed)
    app = compare.start_app(store, args)
    try:
        time.sleep(args.settle)
        for run in range(1, args.runs + 1):
            result = compare.hammer(app, lambda n: ("GET", paths[n % len(paths)], None, {}),
                                    args)
            print(f"run {run}: {result['per_second']} pages/s, server CPU "
                  f"{result['server_cpu_ms_per_request']} ms a page, median "
                  f"{result['median_ms']} ms, p95 {result['p95_ms']} ms, errors "
                  f"{result['errors']}, machine CPU busy {result['machine_cpu_busy']:.0%}, "
                  f"client's share {result['client_cpu_share']:.0%}", flush=True)
    finally:
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
