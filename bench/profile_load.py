"""Where a load's CPU time goes, what the store's quads are, and what each tally costs: the
figures behind the README's per-record breakdown.

    python bench/profile_load.py --records 10000 [--work DIR] [--into STORE] [--cprofile]
                                 [--tallies STORE] [--gc-threshold N]

1. a synthetic corpus (bench/synthetic.py, reused when it matches), loaded in one process
   (``workers=0``: every step runs here) into a store holding only the vocabularies (or, with
   ``--into STORE``, records new to it into a copy of STORE: a late batch). Each
   step's CPU time is measured in the thread that runs it (``time.thread_time``: reading,
   mapping, SHACL validation, entailments and N-Quads, per-publication aggregates, the store
   writes in the writer thread, the closing refresh), and the CPU of RocksDB's own threads
   (flushes and compactions) is read from /proc, and the cyclic garbage collector's CPU
   (gc.callbacks; ``--gc-threshold`` to try another threshold). No profiler runs, so
   pure-Python steps are not inflated against native ones (cProfile made pyshacl look four
   times dearer);
2. the quads of the loaded store by graph kind and by predicate;
3. with ``--cprofile``, the same load again under cProfile, for its top functions;
4. with ``--tallies STORE`` (e.g. the store bench/load.py left), times each tally's full
   recount in that store (as a remote store's refresh does it), and the embedded store's pair
   counts file: rebuilt from the records, read, and told of a load of 10k publications.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import os
import pstats
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package
import load_into  # noqa: E402
import pyoxigraph as ox  # noqa: E402

from policykg.graph import aggregates, readers  # noqa: E402
from policykg.graph.aggregates import index as aggregate_index  # noqa: E402
from policykg.graph.aggregates import pair_counts  # noqa: E402
from policykg.graph.aggregates.pair_counts import PairCounts  # noqa: E402
from policykg.graph.inference.reference import prepare  # noqa: E402
from policykg.graph.loading import prepare as preparing  # noqa: E402
from policykg.graph.loading.loader import Loader  # noqa: E402
from policykg.graph.loading.quarantine import Quarantine  # noqa: E402
from policykg.graph.mapping.rules import Mapping  # noqa: E402
from policykg.graph.rdf.uris import Uris  # noqa: E402
from policykg.graph.store.embedded import OxigraphStore  # noqa: E402

BASE = "http://localhost:8000/"
# The steps timed, by (module, function): each is timed in the thread that calls it.
STEPS = {
    "mapping": (preparing, "map_record"),
    "SHACL validation (pyshacl)": (preparing, "validate"),
    "entailments and N-Quads": (preparing, "_chunks"),
    "per-publication aggregates": (preparing, "_aggregates"),
    "pair members (creators, keywords)": (preparing, "members_of"),
    "store writes (writer thread; the bulk loader's own threads are in the rest)":
        (OxigraphStore, "write_batch"),
    "pair counts file (writer thread)": (PairCounts, "change"),
    "closing refresh (tallies)": (aggregate_index, "refresh"),
}
READING = "reading and parsing the files"


class StepClock:
    """CPU seconds by step, each measured with the thread CPU clock of the thread running it."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, step: str, seconds: float) -> None:
        with self._lock:
            self.seconds[step] += seconds

    def wrap(self, step: str, function: Callable) -> Callable:
        """``function`` timed; a generator function is consumed and its list returned."""
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = time.thread_time()
            try:
                result = function(*args, **kwargs)
                return list(result) if isinstance(result, Iterator) else result
            finally:
                self.add(step, time.thread_time() - started)
        return timed

    def iterate(self, step: str, items: Iterator) -> Iterator:
        """Yield from ``items``, timing the work of producing each."""
        while True:
            started = time.thread_time()
            try:
                item = next(items)
            except StopIteration:
                self.add(step, time.thread_time() - started)
                return
            self.add(step, time.thread_time() - started)
            yield item

    def install(self) -> None:
        """Time the STEPS wherever they are called from in this process."""
        for step, (module, name) in STEPS.items():
            setattr(module, name, self.wrap(step, getattr(module, name)))


class GcClock:
    """The CPU seconds Python's cyclic garbage collector takes, in whichever thread runs it
    (gc.callbacks: each collection's start and stop); inside the steps' own figures."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started: dict[int, float] = {}

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = time.thread_time()
        elif thread in self._started:
            self.seconds += time.thread_time() - self._started.pop(thread)
            self.collections += 1


class ThreadCpu:
    """The CPU seconds of this process's threads by name, sampled from /proc (Linux) until
    stopped; a thread's last sample counts, so threads that end are kept."""

    def __init__(self, every: float = 0.2) -> None:
        self._last: dict[str, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> ThreadCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def by_name(self) -> Counter[str]:
        """Thread name -> CPU seconds, threads of one name summed."""
        totals: Counter[str] = Counter()
        for name, seconds in self._last.values():
            totals[name] += seconds
        return totals

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self._sample()

    def _sample(self) -> None:
        folder = Path("/proc/self/task")
        for task in folder.iterdir():
            try:
                name = (task / "comm").read_text().strip()
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self._last[task.name] = (name, (int(fields[11]) + int(fields[12])) / self._tick)


def load_once(corpus: Path, work: Path, records: int, clock: StepClock | None = None,
              into: Path | None = None) -> tuple[OxigraphStore, int, float]:
    """Load ``records`` records of the corpus into a new store, or a copy of ``into``, in one
    process; returns the store (open), the number of records and the load's CPU seconds (all
    threads, reading the files included)."""
    shutil.rmtree(work / "profile", ignore_errors=True)
    if into is not None:
        shutil.copytree(into, work / "profile" / "store")
    store = OxigraphStore(work / "profile" / "store")
    uris = Uris(BASE)
    prepare(store, uris)  # the vocabularies' closure: once per store, not a load's cost
    paths = [str(path) for path in readers.find_inputs([str(corpus)]).files]
    items: Iterator = islice((item for path in paths for item in readers.read(path, None)),
                             records)
    counted = Counter()
    items = _counted(clock.iterate(READING, items) if clock else items, counted)
    loader = Loader(store, uris, Mapping.load(), Quarantine(work / "profile" / "quarantine"),
                    workers=0)
    started = time.process_time()
    loader.load(items)
    return store, counted["items"], time.process_time() - started


def _counted(items: Iterator, counter: Counter[str]) -> Iterator:
    for item in items:
        counter["items"] += 1
        yield item


def measure(corpus: Path, work: Path, records: int,
            into: Path | None = None) -> OxigraphStore:
    """Load under the step clock and print the CPU ms a record of each step and thread."""
    clock = StepClock()
    clock.install()
    with ThreadCpu() as threads, GcClock() as collector:
        store, count, total = load_once(corpus, work, records, clock, into)
    threads_cpu = threads.by_name()
    per = 1000 / count
    print(f"\n{count} records loaded: {total * per:.2f} ms CPU a record (all threads)")
    print("| step | ms CPU a record |\n|---|---:|")
    timed = dict(clock.seconds)
    for step, seconds in timed.items():
        print(f"| {step} | {seconds * per:.2f} |")
    rocksdb = sum(s for name, s in threads_cpu.items() if name.startswith("rocksdb"))
    print(f"| RocksDB flushes and compactions (its own threads) | {rocksdb * per:.2f} |")
    rest = total - sum(timed.values()) - rocksdb
    print(f"| the rest (batching, hashing, bookkeeping, garbage collection) | {rest * per:.2f} |")
    print(f"\nof which Python's cyclic garbage collection (in whichever step): "
          f"{collector.seconds * per:.2f} ms a record, {collector.collections} collections "
          f"(thresholds {gc.get_threshold()})")
    print("\nthreads (CPU s): " + ", ".join(f"{name} {seconds:.1f}"
                                           for name, seconds in threads_cpu.most_common()))
    return store


def composition(store: OxigraphStore, top: int = 12) -> None:
    """The store's quads by graph kind ({base}graph/KIND/...) and by predicate."""
    kinds: Counter[str] = Counter()
    predicates: Counter[str] = Counter()
    for quad in store.engine.quads_for_pattern(None, None, None, None):
        graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
        path = graph.removeprefix(BASE + "graph/").split("/")
        depth = 2 if path[0] in ("inferred", "aggregates") else 1
        kinds["/".join(path[:depth]) or "(default)"] += 1
        predicates[re.split(r"[/#]", quad.predicate.value)[-1]] += 1
    total = sum(kinds.values())
    print(f"\n{total:,} quads; by graph kind, then by predicate:")
    for counter in (kinds, predicates):
        print(" | ".join(f"{name} {100 * n / total:.1f}%" for name, n in counter.most_common(top)))


def profile(corpus: Path, work: Path, records: int, top: int) -> None:
    """The load again under cProfile: its top functions (the profiler inflates Python code)."""
    profiler = cProfile.Profile()
    profiler.enable()
    store, _, _ = load_once(corpus, work, records)
    profiler.disable()
    store.close()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def time_tallies(path: Path, changed: int = 10_000) -> None:
    """Each tally's recount on a store, CPU seconds, as a refresh does it in the store (the
    way a remote store counts pair tallies: from the least count the store's tally keeps);
    then the embedded store's pair counts file: rebuilt from the records, the pairs kept read
    from it, and a load of ``changed`` publications told to it."""
    store = OxigraphStore(path, read_only=True)
    uris = Uris(BASE)
    for name, tally in aggregates.TALLY_KINDS.items():
        graph = ox.NamedNode(aggregates.tally_graph(uris, name))  # read, not written
        started = time.process_time()
        quads = aggregates.tally_quads(store, tally, graph)
        print(f"  tally {name}: {time.process_time() - started:.2f} s CPU, {len(quads)} quads")
    with tempfile.TemporaryDirectory() as folder:
        counts = PairCounts(str(Path(folder) / pair_counts.FILE))
        rows = timed("pair counts: read every member from the store",
                     lambda: list(pair_counts.read_members(
                         store, str(uris.graph(aggregates.RECORD_KIND, "")),
                         aggregates.PAIR_PROPERTIES)))
        timed(f"pair counts: rebuilt from {len(rows)} members", lambda: counts.rebuild(rows))
        for prop in aggregates.PAIR_PROPERTIES:
            kept = timed(f"pair counts: pairs kept of {prop}",
                         lambda prop=prop: counts.kept(prop, aggregates.MAX_PAIRS))
            print(f"    {len(kept[0])} pairs, least count {kept[1]}")
        members: dict[str, dict[str, list[str]]] = {}
        for publication, prop, member in rows:
            members.setdefault(publication, {}).setdefault(prop, []).append(member)
        last = {p: {k: tuple(sorted(v)) for k, v in m.items()}
                for p, m in list(members.items())[-changed:]}
        timed(f"pair counts: {len(last)} publications deleted (as a load tells them)",
              lambda: counts.change({key: {} for key in last}))
        timed(f"pair counts: {len(last)} publications added (as a load tells them)",
              lambda: counts.change(last))
        timed("pair counts: committed", counts.commit)
        counts.close()


def timed(label: str, call: Callable[[], object]) -> object:
    """Call, print its CPU and wall time, return what it returned."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    print(f"  {label}: {time.process_time() - cpu:.2f} s CPU, "
          f"{time.perf_counter() - wall:.2f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000,
                        help="records to load and profile (0: none, e.g. with --tallies)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-profile"))
    parser.add_argument("--cprofile", action="store_true",
                        help="then load again under cProfile and list its top functions")
    parser.add_argument("--tallies", type=Path, help="an embedded store to time the tallies on")
    parser.add_argument("--top", type=int, default=25, help="functions listed [25]")
    parser.add_argument("--into", type=Path,
                        help="load into a copy of this store (e.g. the one bench/load.py "
                             "left) records new to it, as bench/load_into.py: a late batch")
    parser.add_argument("--gc-threshold", type=int, metavar="N",
                        help="set Python's first-generation collection threshold to N")
    args = parser.parse_args(argv)
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
    if args.records and args.into:
        corpus = args.work / "corpus-after"
        load_into.new_corpus(corpus, args.records, after=1_000_000)
        measure(corpus, args.work, args.records, args.into).close()
    elif args.records:
        corpus_args = argparse.Namespace(records=args.records, per_file=1000, seed=1,
                                         invalid_rate=0.03, regenerate=False)
        load_bench.ensure_corpus(args.work / "corpus", corpus_args)
        store = measure(args.work / "corpus", args.work, args.records)
        composition(store)
        store.close()
    if args.cprofile:
        profile(args.work / "corpus", args.work, args.records, args.top)
    if args.tallies:
        time_tallies(args.tallies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
