"""Discovery pages benchmark: the search page and the thing pages' publication lists at scale,
and the weight of the search page's JavaScript.

    python bench/pages_discovery.py --records 100000 [--work DIR] [--runs 40] [--store STORE]

On one synthetic corpus (bench/synthetic.py, as bench/search.py loads it: one ``policykg
load``, then ``policykg compact``; or ``--store``, a store already loaded and compacted):

1. serves it (``policykg serve``, gunicorn, 2 workers) and times ``/search`` (HTML, every facet
   counted and drawn) for the searches of bench/search.py, each request's server time read
   from its ``Server-Timing`` header, ``--runs`` times each, interleaved;
2. times the pages of the things with the most publications (the most prolific person, the
   largest JEL code at each level, the largest region and country, the largest department and
   division), client time on the loopback, ``--runs`` times each;
   and the home page (the collection at a glance: its facets counted over every publication);
3. gzips every script the search page and a person's page load (level 9): their JavaScript's
   weight on the wire.

Prints a table and writes WORK/pages-discovery.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import signal
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package
import search as search_bench  # noqa: E402

ID = "http://localhost:8000/id/"
SCRIPT = re.compile(r'<script[^>]+src="([^"]+)"')


def build_store(args: argparse.Namespace) -> Path:
    """The corpus loaded in one command and compacted (reused when the store is there)."""
    store = args.work / "store"
    if (store / "text-index").is_dir():
        print(f"reusing {store}", flush=True)
        return store
    corpus_args = argparse.Namespace(records=args.records, per_file=1000, seed=1,
                                     invalid_rate=0.03, regenerate=False)
    manifest, _ = load_bench.ensure_corpus(args.work / "corpus", corpus_args)
    folder = load_bench.make_batches(args.work / "corpus", manifest, manifest.records,
                                     args.work / "batches")[0][0]
    loaded = search_bench.load(sys.executable, store, folder, args.work, "discovery")
    print(f"loaded in {loaded['seconds']} s", flush=True)
    search_bench.compact_and_measure(sys.executable, store)
    return store


def largest(port: int, facet: str, **filters: str) -> list[tuple[str, int, str | None]]:
    """A facet's values over every publication: (IRI, count, parent), most first."""
    _, _, _, body = search_bench.get(port, "/api/search", {"size": 1, **filters})
    values = json.loads(body)["facets"][facet]
    return sorted(((v["value"], v["count"], v.get("parent")) for v in values),
                  key=lambda item: -item[1])


def thing_pages(port: int) -> list[tuple[str, str, int]]:
    """(what, path, publications) of the pages to time."""
    def path(iri: str) -> str:
        return "/doc/" + iri[len(ID):] + ".html"

    jel = largest(port, "jel")
    regions = largest(port, "region")
    divisions = largest(port, "division")
    person = largest(port, "author")[0]
    level = {1: [v for v in jel if len(v[0].rsplit("/", 1)[1]) == 1],
             2: [v for v in jel if len(v[0].rsplit("/", 1)[1]) == 2],
             3: [v for v in jel if len(v[0].rsplit("/", 1)[1]) == 3]}
    countries = [v for v in regions if len(v[0].rsplit("/", 1)[1]) == 2]
    parents = {v[2] for v in divisions}
    departments = [v for v in divisions if v[0] in parents and v[2] is not None]
    units = [v for v in divisions if v[0] not in parents]
    chosen = [("the most prolific person", person), ("the largest JEL code (1 letter)",
                                                     level[1][0]),
              ("the largest JEL code (2 characters)", level[2][0]),
              ("the largest JEL code (3 characters)", level[3][0]),
              ("the largest region", regions[0]), ("the largest country", countries[0]),
              ("the largest department", departments[0]), ("the largest division", units[0])]
    total = json.loads(search_bench.get(port, "/api/search", {"size": 1})[3])["total"]
    return [(what, path(value[0]), value[1]) for what, value in chosen] + \
        [("the home page", "/", total)]


def time_pages(port: int, runs: int, pages: list[tuple[str, str, int]]) -> list[dict]:
    """Each page ``runs`` times, interleaved (after one warming request each)."""
    times: dict[str, list[float]] = {path: [] for _, path, _ in pages}
    for _, path, _ in pages:
        search_bench.get(port, path)
    for _ in range(runs):
        for what, path, _ in pages:
            status, client, _, body = search_bench.get(port, path)
            if status != 200:
                sys.exit(f"{what} {path}: HTTP {status}: {body[:300]!r}")
            times[path].append(client)
    return [{"page": what, "path": path, "publications": count,
             "client_p50_ms": round(statistics.median(times[path]), 1),
             "client_p95_ms": round(sorted(times[path])[int(0.95 * (runs - 1))], 1)}
            for what, path, count in pages]


def time_search_pages(port: int, runs: int) -> list[dict]:
    """/search for each search of bench/search.py: server time from Server-Timing."""
    searches = search_bench.SEARCHES
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in searches}
    totals: dict[str, str] = {}
    paths = {name: "/search?" + urlencode(params, doseq=True) for name, params in searches}
    for name in paths:
        status, _, _, _ = search_bench.get(port, paths[name])
        if status != 200:  # a search said another way is redirected: time the page it means
            sys.exit(f"{name}: HTTP {status} for {paths[name]}")
    for _ in range(runs):
        for name, path in paths.items():
            status, client, server, body = search_bench.get(port, path)
            if status != 200:
                sys.exit(f"{name}: HTTP {status}: {body[:300]!r}")
            found = re.search(rb'class="total" role="status">([\d,]+) result', body)
            totals[name] = found.group(1).decode() if found else "?"
            times[name].append((server or client, client))
    return [{"search": name, "hits": totals[name], **search_bench._percentiles(times[name])}
            for name, _ in searches]


def script_weight(port: int, path: str, params: dict | None = None) -> dict:
    """Bytes of every script a page loads, raw and gzipped."""
    _, _, _, body = search_bench.get(port, path, params)
    scripts = SCRIPT.findall(body.decode("utf-8"))
    raw = gzipped = 0
    for src in scripts:
        _, _, _, data = search_bench.get(port, src)
        raw += len(data)
        gzipped += len(gzip.compress(data, 9))
    return {"scripts": scripts, "bytes": raw, "gzipped_bytes": gzipped}


def measure(args: argparse.Namespace) -> dict:
    store = args.store or build_store(args)
    figures: dict = {"records": args.records, "store": str(store),
                     "machine": search_bench._machine()}
    port = search_bench.free_port()
    server = search_bench.serve(store, args.work, port)
    try:
        time.sleep(args.settle)
        figures["search_pages"] = time_search_pages(port, args.runs)
        pages = thing_pages(port)
        figures["thing_pages"] = time_pages(port, args.runs, pages)
        figures["javascript"] = script_weight(port, "/search", {"q": "policy"})
        figures["javascript_person"] = script_weight(port, pages[0][1])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
    figures["machine_after"] = search_bench._machine()
    return figures


def report(figures: dict) -> str:
    lines = [f"{figures['records']:,} records; machine load {figures['machine']} -> "
             f"{figures['machine_after']}", "",
             "| /search (HTML, every facet) | hits | server p50 ms | server p95 ms |"
             " client p95 ms |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {row['search']} | {row['hits']} | {row['server_p50_ms']} | "
              f"{row['server_p95_ms']} | {row['client_p95_ms']} |"
              for row in figures["search_pages"]]
    lines += ["", "| page | publications | client p50 ms | client p95 ms |",
              "|---|---:|---:|---:|"]
    lines += [f"| {row['page']} (`{row['path']}`) | {row['publications']:,} | "
              f"{row['client_p50_ms']} | {row['client_p95_ms']} |"
              for row in figures["thing_pages"]]
    for key, what in (("javascript", "the search page"), ("javascript_person", "a person's page")):
        script = figures[key]
        lines.append(f"\n{what}'s JavaScript ({', '.join(script['scripts'])}): "
                     f"{script['bytes']:,} bytes, {script['gzipped_bytes']:,} gzipped")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40, help="times each page is timed")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-bench-discovery"))
    parser.add_argument("--store", type=Path, help="a store loaded and compacted already")
    parser.add_argument("--settle", type=float, default=15.0,
                        help="seconds to wait once the server answers (its first counts)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    figures = measure(args)
    print(report(figures))
    (args.work / "pages-discovery.json").write_text(json.dumps(figures, indent=2) + "\n",
                                                   encoding="utf-8")
    print(f"figures written to {args.work / 'pages-discovery.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
