"""Where a load's CPU time goes, and what each tally costs: the figures behind the README's
per-record breakdown.

    python bench/profile_load.py --records 1000 [--work DIR] [--tallies STORE]

1. a synthetic corpus (bench/synthetic.py, reused when it matches), loaded under cProfile in
   one process (``workers=0``: every step is on the profile) into a store holding only the
   vocabularies; prints the CPU time a record of each step (mapping, validation, entailments
   and N-Quads, aggregates, writing, the closing refresh) and the top functions;
2. with ``--tallies STORE`` (e.g. the store bench/load.py left), times each tally's full
   recount on that store, as the refresh at the end of every load does it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package

from policykg.graph import aggregates, readers  # noqa: E402
from policykg.graph.mapping import Mapping  # noqa: E402
from policykg.graph.pipeline import Loader  # noqa: E402
from policykg.graph.quarantine import Quarantine  # noqa: E402
from policykg.graph.reference import prepare  # noqa: E402
from policykg.graph.store import OxigraphStore  # noqa: E402
from policykg.graph.uris import Uris  # noqa: E402

BASE = "http://localhost:8000/"
# The steps of a record's preparation and writing, by the function that does each.
STEPS = {
    "mapping": "map_record",
    "SHACL validation": "validate_with_report",
    "entailments and N-Quads": "_chunks",
    "per-publication aggregates": "publication_nquads",
    "closing refresh (tallies)": "refresh",
}


def profile_load(corpus: Path, work: Path, records: int) -> pstats.Stats:
    """Load the corpus under cProfile in one process; print CPU ms a record per step."""
    shutil.rmtree(work / "profile", ignore_errors=True)
    store = OxigraphStore(work / "profile" / "store")
    uris = Uris(BASE)
    prepare(store, uris)  # the vocabularies' closure: once per store, not a load's cost
    items = [item for path in readers.iter_paths([str(corpus)])
             for item in readers.read(path, None)][:records]
    loader = Loader(store, uris, Mapping.load(), Quarantine(work / "profile" / "quarantine"),
                    workers=0)
    profile = cProfile.Profile()
    started = time.process_time()
    profile.runcall(loader.load, items)
    total = time.process_time() - started
    store.close()
    stats = pstats.Stats(profile)
    print(f"{len(items)} records, {1000 * total / len(items):.2f} ms CPU a record (profiled: "
          "cProfile adds to every step)")
    steps = 0.0
    for step, function in STEPS.items():
        seconds = sum(row[3] for (_, _, name), row in stats.stats.items() if name == function)
        steps += seconds
        print(f"  {step}: {1000 * seconds / len(items):.2f} ms")
    print(f"  the rest (reading, the writer thread, bookkeeping): "
          f"{1000 * (total - steps) / len(items):.2f} ms")
    return stats


def time_tallies(path: Path) -> None:
    """Each tally's full recount on a store, CPU seconds."""
    import pyoxigraph as ox

    store = OxigraphStore(path, read_only=True)
    graph = ox.NamedNode(BASE + "graph/aggregates/profile")
    for name, tally in aggregates.TALLY_KINDS.items():
        started = time.process_time()
        quads = aggregates.tally_quads(store, tally, graph)
        print(f"  tally {name}: {time.process_time() - started:.2f} s CPU, {len(quads)} quads")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-profile"))
    parser.add_argument("--tallies", type=Path, help="an embedded store to time the tallies on")
    parser.add_argument("--top", type=int, default=25, help="functions listed [25]")
    args = parser.parse_args(argv)
    corpus_args = argparse.Namespace(records=args.records, per_file=1000, seed=1,
                                     invalid_rate=0.03, regenerate=False)
    load_bench.ensure_corpus(args.work / "corpus", corpus_args)
    stats = profile_load(args.work / "corpus", args.work, args.records)
    stats.sort_stats("cumulative").print_stats(args.top)
    if args.tallies:
        time_tallies(args.tallies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
