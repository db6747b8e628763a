"""Search benchmark: the text index at scale, and what it costs a load and the disk.

    python bench/search.py --records 100000 [--work DIR] [--baseline-python PY] [--runs 40]
    python bench/search.py --work DIR --searches-only     # the searches again, on the kept store
    python bench/search.py --work DIR --virtuoso-only     # only step 5, beside an earlier run

In one run, on one synthetic corpus (bench/synthetic.py, as bench/load.py makes it):

1. loads it in one ``policykg load`` (the real CLI) with the text index, and again with the
   text index switched off (the same code, its indexing left out): what indexing adds to the
   load, in wall and CPU seconds;
2. with ``--baseline-python`` (the Python of a checkout whose store keeps a word index of
   ``pkg:word`` quads instead of a text index), loads it a third time with that code: the
   store as it was, for the disk comparison;
3. compacts each store (``policykg compact``) and measures it on disk: the store, its text
   index, its pair counts file;
4. serves the indexed store (``policykg serve``, gunicorn, 2 workers) and times ``/api/search``
   with every facet counted (common and rare words, one and three of them, with and without
   filters, sorted by relevance and by date), each request's server time read from its
   ``Server-Timing`` header, and a SPARQL query joining ``pkg:matches`` with a division and a
   year through ``/sparql``;
5. with ``--virtuoso``, loads the corpus into a Virtuoso of its own (bench/remote.py, as the
   tests start it) through ``policykg load``, serves the app over it, and times the same
   searches and join there: the store's own free-text index answering.

Prints a table and writes WORK/search-results.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package

SEARCHES = [
    ("one common word", {"q": "policy"}),
    ("one rare word", {"q": "sanitation"}),
    ("three common words", {"q": "social policy evaluation"}),
    ("three rare words", {"q": "remittances literacy sanitation"}),
    ("common word, filtered", {"q": "policy", "jel": "O", "year_from": "2010"}),
    ("rare word, filtered", {"q": "sanitation", "region": "caribbean", "year_from": "2000"}),
    ("three words, filtered", {"q": "social policy evaluation", "jel": "I", "year_to": "2020"}),
    ("phrase and prefix", {"q": '"social protection" innov*'}),
    ("common word, newest first", {"q": "policy", "sort": "newest"}),
    ("no words: browse, filtered", {"jel": "J", "type": "working-papers"}),
]
JOIN = """PREFIX pkg: <https://w3id.org/policykg/ontology#>
SELECT ?publication ?score ?year WHERE {{
  (?publication ?score) pkg:matches "{words}" .
  ?publication pkg:division <{base}id/org/{division}> ; pkg:issuedYear ?year .
  FILTER(?year >= 2015)
}} ORDER BY DESC(?score) LIMIT 100"""
# The same code with indexing left out: no document made for a record, none written.
NO_INDEX = ("import policykg.graph.search.indexing as i, policykg.graph.loading.prepare as p; "
            "i.TextIndexing.active = property(lambda s: False); "
            "p._document = lambda mapped, context: None")


def load(python: str, store: Path, folder: Path, work: Path, name: str,
         without_index: bool = False) -> dict:
    """One ``policykg load`` of the corpus into an empty store: its figures."""
    shutil.rmtree(store, ignore_errors=True)
    code = ["-c", f"{NO_INDEX}; import policykg.graph.cli as c; c.main()"] if without_index \
        else ["-m", "policykg.graph.cli"]
    command = [python, *code, "--home", str(work / f"home-{name}"), "--store", str(store),
               "load", str(folder), "--quiet"]
    run = load_bench.run_cli(command, work / f"load-{name}", work)
    if run.code not in (0, 1) or "Traceback" in run.stderr:
        sys.exit(f"the {name} load failed with exit {run.code}:\n{run.stderr[-3000:]}")
    return {"seconds": round(run.seconds, 1), "cpu_seconds": round(run.cpu_seconds, 1),
            "peak_tree_pss_mib": run.tree_pss_mib and round(run.tree_pss_mib),
            "summary": run.stdout.strip().splitlines()}


def compact_and_measure(python: str, store: Path) -> dict:
    """Compact a store, then its size on disk by part (MiB)."""
    started = time.perf_counter()
    subprocess.run([python, "-m", "policykg.graph.cli", "--store", str(store), "compact"],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - started
    index = store / "text-index"
    pairs = store / "policykg-pair-counts.sqlite"
    total = load_bench.disk_usage_mib(store)
    index_mib = load_bench.disk_usage_mib(index) if index.exists() else 0.0
    pairs_mib = pairs.stat().st_size / 2**20 if pairs.exists() else 0.0
    return {"compact_seconds": round(seconds, 1), "total_mib": round(total),
            "text_index_mib": round(index_mib), "pair_counts_mib": round(pairs_mib),
            "quads_mib": round(total - index_mib - pairs_mib)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(store: Path, work: Path, port: int) -> subprocess.Popen:
    """``policykg serve`` over a store, once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "policykg.graph.cli", "--home", str(work / "home-serve"),
         "--store", str(store), "serve", "--port", str(port), "--workers", "2", "--no-sample"],
        stdout=subprocess.DEVNULL, stderr=open(work / "serve.err", "w"),  # noqa: SIM115
        start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if get(port, "/healthz")[0] == 200:
                return process
        except OSError:
            time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    sys.exit("the server did not start")


def get(port: int, path: str, params: dict | None = None,
        headers: dict | None = None) -> tuple[int, float, float | None, bytes]:
    """(status, client ms, server ms from Server-Timing, body) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    target = path + ("?" + urlencode(params, doseq=True) if params else "")
    started = time.perf_counter()
    connection.request("GET", target, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    client = (time.perf_counter() - started) * 1000
    connection.close()
    return response.status, client, _server_ms(response.getheader("Server-Timing")), body


def _server_ms(header: str | None) -> float | None:
    for part in (header or "").split(","):
        if "dur=" in part:
            return float(part.split("dur=")[1].split(";")[0])
    return None


def time_searches(port: int, runs: int) -> list[dict]:
    """Each search, ``runs`` times, interleaved: status, hits, server and client ms."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in SEARCHES}
    totals: dict[str, int] = {}
    for _, params in SEARCHES:  # warm each once
        get(port, "/api/search", params)
    for _ in range(runs):
        for name, params in SEARCHES:
            status, client, server, body = get(port, "/api/search", params)
            if status != 200:
                sys.exit(f"{name}: HTTP {status}: {body[:300]!r}")
            totals[name] = json.loads(body)["total"]
            times[name].append((server or client, client))
    return [{"search": name, "hits": totals[name], **_percentiles(times[name])}
            for name, _ in SEARCHES]


def time_join(port: int, runs: int, base: str, division: str) -> dict:
    """The SPARQL query joining pkg:matches with a division and a year."""
    query = JOIN.format(words="policy", base=base, division=division)
    found: list[tuple[float, float]] = []
    rows = 0
    for run in range(runs + 1):
        status, client, _, body = get(port, "/sparql", {"query": query},
                                      {"Accept": "application/sparql-results+json"})
        if status != 200:
            sys.exit(f"the join failed: HTTP {status}: {body[:300]!r}")
        rows = len(json.loads(body)["results"]["bindings"])
        if run:
            found.append((client, client))
    return {"search": "SPARQL pkg:matches joined with a division and a year", "hits": rows,
            **_percentiles(found)}


def _percentiles(pairs: list[tuple[float, float]]) -> dict:
    server = sorted(p[0] for p in pairs)
    client = sorted(p[1] for p in pairs)
    return {"server_p50_ms": round(statistics.median(server), 1),
            "server_p95_ms": round(server[int(0.95 * (len(server) - 1))], 1),
            "client_p95_ms": round(client[int(0.95 * (len(client) - 1))], 1)}


def measure(args: argparse.Namespace) -> dict:
    """Every stage's figures, written to WORK/search-results.json as each stage ends (a stage
    that fails leaves those before it)."""
    records, folder = corpus(args)
    figures: dict = {"records": records, "machine": _machine()}
    indexed, plain = args.work / "store-indexed", args.work / "store-no-index"
    figures["load_indexed"] = load(sys.executable, indexed, folder, args.work, "indexed")
    figures["load_no_index"] = load(sys.executable, plain, folder, args.work, "no-index",
                                    without_index=True)
    figures["disk_indexed"] = compact_and_measure(sys.executable, indexed)
    shutil.rmtree(plain)
    save(figures, args.work)
    if args.baseline_python:
        words = args.work / "store-words"
        figures["load_word_index"] = load(args.baseline_python, words, folder, args.work,
                                          "words")
        figures["disk_word_index"] = compact_and_measure(args.baseline_python, words)
        shutil.rmtree(words)
        save(figures, args.work)
    figures.update(time_served(indexed, args))
    save(figures, args.work)
    if args.virtuoso:
        measure_virtuoso(folder, args, figures)
    figures["machine_after"] = _machine()
    save(figures, args.work)
    return figures


def corpus(args: argparse.Namespace) -> tuple[int, Path]:
    """The synthetic corpus (made once, then reused): its records, and the folder of them."""
    corpus_args = argparse.Namespace(records=args.records, per_file=1000, seed=1,
                                     invalid_rate=0.03, regenerate=False)
    manifest, _ = load_bench.ensure_corpus(args.work / "corpus", corpus_args)
    folder = load_bench.make_batches(args.work / "corpus", manifest, manifest.records,
                                     args.work / "batches")[0][0]
    return manifest.records, folder


def time_served(store: Path, args: argparse.Namespace) -> dict:
    """The searches and the join, timed through ``policykg serve`` over the embedded store."""
    port = free_port()
    server = serve(store, args.work, port)
    try:
        return {"searches": time_searches(port, args.runs),
                "join": time_join(port, args.runs, "http://localhost:8000/", "scl-lmk")}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)


def save(figures: dict, work: Path) -> None:
    """The figures so far, in WORK/search-results.json."""
    (work / "search-results.json").write_text(json.dumps(figures, indent=2) + "\n",
                                              encoding="utf-8")


def measure_virtuoso(folder: Path, args: argparse.Namespace, into: dict) -> None:
    """The corpus loaded into Virtuoso (its load figures), then the searches through the app,
    as ``into["virtuoso"]``."""
    import remote  # bench/remote.py: imports policykg and tests/virtuoso.py

    reason = remote.missing()
    if reason:
        sys.exit(reason)
    server = remote.Virtuoso(args.work / "virtuoso", buffers=args.buffers,
                             query_seconds=86_400, estimate_seconds=86_400)
    fresh = not (args.work / "virtuoso" / "virtuoso.db").exists()
    server.start()
    try:
        if fresh:
            server.setup()
        settings = remote.replace(server.settings(remote.Settings(base=remote.BASE)),
                                  store_timeout=3600.0)
        figures = into["virtuoso"] = {"load": remote.load_remote(server, settings, folder,
                                                                 args.work, args.records)}
        save(into, args.work)
        process, url = remote.serve(remote.replace_timeout(settings), args.work / "serve-remote")
        port = int(url.rsplit(":", 1)[1])
        try:
            figures["searches"] = time_searches(port, args.runs)
            figures["join"] = time_join(port, args.runs, remote.BASE, "scl-lmk")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
    finally:
        server.stop()


def _machine() -> dict:
    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_1min": round(load1, 2), "load_5min": round(load5, 2)}


def report(figures: dict) -> str:
    a, b = figures["load_indexed"], figures["load_no_index"]
    lines = [f"{figures['records']:,} records; machine load {figures['machine']} -> "
             f"{figures.get('machine_after', 'not recorded')}", "",
             "| load | wall s | CPU s | peak tree PSS MiB |", "|---|---:|---:|---:|",
             f"| with the text index | {a['seconds']} | {a['cpu_seconds']} | "
             f"{a['peak_tree_pss_mib']} |",
             f"| without it | {b['seconds']} | {b['cpu_seconds']} | {b['peak_tree_pss_mib']} |"]
    if "load_word_index" in figures:
        c = figures["load_word_index"]
        lines.append(f"| with a word index in the store (baseline) | {c['seconds']} | "
                     f"{c['cpu_seconds']} | {c['peak_tree_pss_mib']} |")
    lines.append(f"\nthe text index adds {100 * (a['seconds'] / b['seconds'] - 1):.1f}% wall, "
                 f"{100 * (a['cpu_seconds'] / b['cpu_seconds'] - 1):.1f}% CPU to the load")
    lines += ["", "| store after compaction | total MiB | quads | text index | pair counts |"
              " compaction s |", "|---|---:|---:|---:|---:|---:|"]
    for key, label in (("disk_indexed", "with the text index"),
                       ("disk_word_index", "with a word index (baseline)")):
        if key in figures:
            d = figures[key]
            lines.append(f"| {label} | {d['total_mib']} | {d['quads_mib']} | "
                         f"{d['text_index_mib']} | {d['pair_counts_mib']} | "
                         f"{d['compact_seconds']} |")
    if "disk_word_index" in figures:
        share = figures["disk_indexed"]["total_mib"] / figures["disk_word_index"]["total_mib"]
        lines.append(f"\nstore and index: {100 * share:.0f}% of the baseline store")
    lines += ["", "| search (every facet counted) | hits | server p50 ms | server p95 ms |"
              " client p95 ms |", "|---|---:|---:|---:|---:|"]
    for row in [*figures["searches"], figures["join"]]:
        lines.append(_search_row(row))
    if "virtuoso" in figures:
        v = figures["virtuoso"]
        lines += ["", f"On Virtuoso: loaded in {v['load']['load_seconds']} s, aggregates "
                      f"{v['load']['aggregates_seconds']} s", "",
                  "| search on Virtuoso (every facet counted) | hits | server p50 ms |"
                  " server p95 ms | client p95 ms |", "|---|---:|---:|---:|---:|"]
        lines += [_search_row(row) for row in [*v["searches"], v["join"]]]
    return "\n".join(lines)


def _search_row(row: dict) -> str:
    return (f"| {row['search']} | {row['hits']:,} | {row['server_p50_ms']} | "
            f"{row['server_p95_ms']} | {row['client_p95_ms']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40, help="times each search is timed")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-bench-search"))
    parser.add_argument("--baseline-python", help="the Python of a checkout with a word index")
    parser.add_argument("--virtuoso", action="store_true",
                        help="also load into Virtuoso and time the searches there")
    parser.add_argument("--buffers", type=int, default=400_000,
                        help="Virtuoso's NumberOfBuffers (8 KiB pages)")
    parser.add_argument("--virtuoso-only", action="store_true",
                        help="only the Virtuoso part (a fresh Virtuoso in WORK/virtuoso), added "
                             "to the figures of an earlier run in WORK/search-results.json")
    parser.add_argument("--searches-only", action="store_true",
                        help="time the searches again over WORK/store-indexed, kept from a run "
                             "(after a change to search), into WORK/search-timings.json")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.virtuoso_only:
        figures = json.loads((args.work / "search-results.json").read_text(encoding="utf-8"))
        figures["machine_before_virtuoso"] = _machine()
        measure_virtuoso(corpus(args)[1], args, figures)
        figures["machine_after_virtuoso"] = _machine()
        save(figures, args.work)
        print(report(figures))
        return 0
    if args.searches_only:
        timings = {"machine": _machine(), **time_served(args.work / "store-indexed", args),
                   "machine_after": _machine()}
        print("\n".join(_search_row(row) for row in [*timings["searches"], timings["join"]]))
        (args.work / "search-timings.json").write_text(json.dumps(timings, indent=2) + "\n",
                                                       encoding="utf-8")
        return 0
    figures = measure(args)
    print(report(figures))
    print(f"figures written to {args.work / 'search-results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
