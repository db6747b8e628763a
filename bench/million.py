"""The million-record benchmark: one run that loads, stores, serves and searches a large corpus
on one machine, next to the same measures at a tenth of its size.

    python bench/million.py --records 1000000 [--small 100000] [--work DIR]
                            [--skip STEP ...] [--runs 5]

Steps, in this order (``--skip`` any of calibrate, small, serve, incremental):

1. the corpus: bench/synthetic.py, ``--records`` records (its pages written in parallel);
2. calibration: a fixed loop of Python (CPU seconds: how fast this machine is), then, after
   the load, the raw bulk load of the very quads the load produced (``oxigraph dump`` of the
   store piped into ``oxigraph load`` of an empty store: no validation, inference, aggregates
   nor text index), whose CPU seconds the load is judged against;
3. the load: the whole corpus in one ``policykg load`` into an empty store (the real CLI, its
   progress recorded as in bench/load_whole.py): wall and CPU seconds, peak PSS of the process
   tree, the rate of each slice of ``--slice`` records, the last slice against the first;
4. ``policykg compact``, then the store on disk: its RocksDB folder, the text index, the pair
   counts file, a publication's share of each, and the quads of each kind of graph;
5. the same load, compaction and sizes for the first ``--small`` records of the corpus into a
   second store, to compare against in this run;
6. serving each store: bench/compare.py (every named query through the API and as SPARQL on
   the app's ``/sparql`` and on the ``oxigraph`` server, the pages of a publication, a person
   and a JEL concept, 16 clients on publication pages, the server's CPU a page), then the
   searches of bench/search.py with every facet counted (server time, p95);
7. an incremental load into the large store: ``--incremental`` new records and as many
   records of the corpus changed (their titles), in one ``policykg load``, timed with its
   closing refresh.

Prints markdown tables and the targets it is judged by, and writes WORK/million-results.json.
Needs ``pip install -e '.[test,bench]'`` (the oxigraph CLI). Disk: the corpus takes about
4.5 KB a record, the raw store about as much as the compacted one while it is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package
import load_into  # noqa: E402
import load_whole  # noqa: E402
import search as search_bench  # noqa: E402

GRAPHS_BY_NAME = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
CALIBRATION_LOOP = 30_000_000
TITLE = re.compile(r'(<dim:field mdschema="dc" element="title" lang="[a-z]+">)([^<]*)(<)')
STEPS = ("calibrate", "small", "serve", "incremental")


def cpu_loop() -> float:
    """CPU seconds of a fixed loop of Python: how fast this machine runs the interpreter."""
    started = time.process_time()
    total = 0
    for number in range(CALIBRATION_LOOP):
        total += number * number % 7
    return round(time.process_time() - started, 2)


def load_corpus(folder: Path, store: Path, work: Path, name: str, slice_size: int) -> dict:
    """One ``policykg load`` of a folder into an empty store, with its progress recorded."""
    shutil.rmtree(store, ignore_errors=True)
    progress = work / f"progress-{name}.txt"
    progress.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "load_whole.py"), "--child", str(progress), "--",
               "--home", str(work / f"home-{name}"), "--store", str(store), "load", str(folder),
               "--quiet"]
    started = time.time()
    print(f"loading {folder} into {store} ...", flush=True)
    run = load_bench.run_cli(command, work / f"load-{name}", work)
    if run.code not in (0, 1) or "Traceback" in run.stderr:
        sys.exit(f"the {name} load failed with exit {run.code}:\n{run.stderr[-3000:]}")
    parts = load_whole.slices(progress, started, slice_size)
    summary = run.stdout.strip()
    return {"seconds": round(run.seconds, 1), "cpu_seconds": round(run.cpu_seconds, 1),
            "peak_tree_pss_mib": run.tree_pss_mib and round(run.tree_pss_mib),
            "loaded": load_bench.summary_count(summary, "loaded"),
            "rejected": load_bench.summary_count(summary, "rejected"),
            "slices": parts,
            "last_to_first": round(parts[-1]["rate"] / parts[0]["rate"], 2) if parts else None,
            "summary": summary.splitlines()}


def compact(store: Path) -> float:
    """``policykg compact``: its seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "policykg.graph.cli", "--store", str(store),
                    "compact"], check=True, capture_output=True)
    return round(time.perf_counter() - started, 1)


def disk(store: Path, publications: int) -> dict:
    """The store on disk by part (MiB) and a publication's share of it (KB)."""
    index, pairs = store / "text-index", store / "policykg-pair-counts.sqlite"
    total = load_bench.disk_usage_mib(store)
    parts = {"text_index": load_bench.disk_usage_mib(index) if index.exists() else 0.0,
             "pair_counts": pairs.stat().st_size / 2**20 if pairs.exists() else 0.0}
    parts["quads"] = total - sum(parts.values())
    figures = {f"{part}_mib": round(mib) for part, mib in parts.items()}
    figures["total_mib"] = round(total)
    figures["kb_a_publication"] = {part: round(mib * 2**20 / 1000 / publications, 2)
                                   for part, mib in {**parts, "total": total}.items()}
    return figures


def quads_by_kind(store: Path, base: str = "http://localhost:8000/") -> dict[str, int]:
    """Quads of each kind of graph: graphs named alike but for their last part (a record's
    key) are one kind; the default graph is its own."""
    import pyoxigraph as ox

    from policykg.graph.store import open_store

    counts: Counter[str] = Counter()
    with open_store(f"oxigraph:{store}", read_only=True) as opened:
        rows = [(row["g"].value, int(row["n"].value)) for row in opened.query(GRAPHS_BY_NAME)]
        default = sum(1 for _ in opened.engine.quads_for_pattern(None, None, None,
                                                                  ox.DefaultGraph()))
    prefixes = Counter(name.rsplit("/", 1)[0] for name, _ in rows)
    for name, count in rows:
        prefix = name.rsplit("/", 1)[0]
        kind = prefix + "/*" if prefixes[prefix] > 100 else name
        counts[kind.removeprefix(base)] += count
    counts["(default graph)"] = default
    return dict(counts.most_common())


def raw_load(store: Path, work: Path) -> dict:
    """The store's quads dumped by ``oxigraph dump`` into ``oxigraph load`` of an empty store:
    the raw bulk load's wall and CPU seconds (the loading process alone)."""
    oxigraph = shutil.which("oxigraph", path=str(Path(sys.executable).parent))
    if oxigraph is None:
        sys.exit("no oxigraph CLI next to this Python: pip install -e '.[bench]'")
    raw = work / "store-raw"
    shutil.rmtree(raw, ignore_errors=True)
    print("the raw bulk load of the same quads ...", flush=True)
    dump = subprocess.Popen([oxigraph, "dump", "--location", str(store), "--format", "nq"],
                            stdout=subprocess.PIPE)
    started = time.perf_counter()
    loading = subprocess.Popen([oxigraph, "load", "--location", str(raw), "--format", "nq"],
                               stdin=dump.stdout, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert dump.stdout is not None
    dump.stdout.close()
    _, status, usage = os.wait4(loading.pid, 0)
    seconds = time.perf_counter() - started
    dump.wait()
    if os.waitstatus_to_exitcode(status) != 0 or dump.returncode != 0:
        sys.exit("the raw bulk load failed")
    figures = {"seconds": round(seconds, 1),
               "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
               "store_mib": round(load_bench.disk_usage_mib(raw))}
    shutil.rmtree(raw)
    return figures


def serve_measures(store: Path, work: Path, runs: int) -> dict:
    """bench/compare.py on the store, then bench/search.py's searches."""
    out = work / f"compare-{store.name}"
    subprocess.run([sys.executable, str(HERE / "compare.py"), "--store", str(store), "--work",
                    str(out), "--no-rdflib", "--runs", str(runs)], check=True)
    compared = json.loads((out / "compare-results.json").read_text(encoding="utf-8"))
    port = search_bench.free_port()
    server = search_bench.serve(store, work, port)
    try:
        searches = search_bench.time_searches(port, max(runs * 4, 20))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
    return {"compare": {key: compared[key] for key in (
                "quads", "publications", "queries", "documents", "throughput", "memory_mib",
                "load_average_start", "load_average_end")},
            "searches": searches}


def incremental(store: Path, corpus: Path, work: Path, records: int, after: int) -> dict:
    """``records`` new records and as many changed ones in one ``policykg load``."""
    folder = work / "incremental"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for path in load_into.new_corpus(work / "incremental-new", records, after):
        load_bench.link(path, folder / f"new-{path.name}")
    changed, first_pages = 0, sorted(corpus.glob("ListRecords-*.xml"))
    for path in first_pages:
        text, count = TITLE.subn(r"\1\2 (revised)\3", path.read_text(encoding="utf-8"),
                                 count=records - changed)
        (folder / f"changed-{path.name}").write_text(text, encoding="utf-8")
        changed += count
        if changed >= records:
            break
    print(f"the incremental load: {records} new and {changed} changed records ...", flush=True)
    run = load_bench.run_cli([sys.executable, "-m", "policykg.graph.cli", "--home",
                              str(work / "home-incremental"), "--store", str(store), "load",
                              str(folder), "--quiet"], work / "load-incremental", work)
    summary = run.stdout.strip()
    return {"new": records, "changed": changed, "seconds": round(run.seconds, 1),
            "cpu_seconds": round(run.cpu_seconds, 1), "summary": summary.splitlines(),
            "replaced": load_bench.summary_count(summary, "replaced"),
            "loaded": load_bench.summary_count(summary, "loaded")}


def measure(args: argparse.Namespace) -> dict:
    """Every step of the run; the figures."""
    corpus_args = argparse.Namespace(records=args.records, per_file=1000, seed=1,
                                     invalid_rate=0.03, regenerate=False)
    manifest, generated = load_bench.ensure_corpus(args.work / "corpus", corpus_args)
    big, small = args.work / "store-large", args.work / "store-small"
    figures: dict = {"records": manifest.records, "generated_seconds": round(generated, 1),
                     "environment": load_bench.environment(), "load_average": [os.getloadavg()]}
    if "calibrate" not in args.skip:
        figures["cpu_loop_seconds"] = cpu_loop()
    folders = load_bench.make_batches(args.work / "corpus", manifest, manifest.records,
                                      args.work / "batches")
    figures["load"] = load_corpus(folders[0][0], big, args.work, "large", args.slice)
    figures["load_average"].append(os.getloadavg())
    if "calibrate" not in args.skip:
        figures["raw_load"] = raw_load(big, args.work)
    figures["compact_seconds"] = compact(big)
    figures["disk"] = disk(big, figures["load"]["loaded"])
    figures["graphs"] = quads_by_kind(big)
    if "small" not in args.skip:
        part = load_bench.make_batches(args.work / "corpus", manifest, args.small,
                                       args.work / "batches-small")[0][0]
        figures["small_load"] = load_corpus(part, small, args.work, "small", args.slice)
        figures["small_compact_seconds"] = compact(small)
        figures["small_disk"] = disk(small, figures["small_load"]["loaded"])
    if "serve" not in args.skip:
        figures["serve"] = serve_measures(big, args.work, args.runs)
        if "small" not in args.skip:
            figures["small_serve"] = serve_measures(small, args.work, args.runs)
    figures["load_average"].append(os.getloadavg())
    if "incremental" not in args.skip:
        figures["incremental"] = incremental(big, args.work / "corpus", args.work,
                                             args.incremental, manifest.records)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000,
                        help="records of the store compared against in the same run")
    parser.add_argument("--slice", type=int, default=100_000, help="records a slice")
    parser.add_argument("--incremental", type=int, default=1000,
                        help="new records, and changed ones, of the incremental load")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each named query")
    parser.add_argument("--skip", action="append", default=[], choices=STEPS)
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-bench-million"))
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    figures = measure(args)
    out = args.work / "million-results.json"
    out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    import million_report

    print(million_report.report(figures))
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
