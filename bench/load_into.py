"""A late batch, measured alone: new synthetic records loaded into a copy of an existing store.

    python bench/load_into.py --store STORE --work DIR [--records 10000] [--after 1000000]
                              [--workers N] [--in-place]

bench/load.py loads a whole corpus batch by batch, each batch a new ``policykg load`` process;
this loads one corpus in this process (``Loader``, as the CLI does, with the vocabularies read
before the clock starts) into a copy of STORE (e.g. the store bench/load.py left), so that two
versions of the load code can be compared on the same late batch, alternately, within minutes.
The corpus (bench/synthetic.py, seed 2) is numbered after ``--after`` records, so its records
are new to a store of an unnumbered corpus; its authors, JEL codes and regions recur.

Reports wall seconds, records/s, and the CPU seconds of this process (its writer and RocksDB
threads included) and of its worker processes.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import synthetic  # noqa: E402 - bench/ is not a package

from policykg.graph import readers  # noqa: E402
from policykg.graph.inference.reference import prepare  # noqa: E402
from policykg.graph.loading.loader import Loader  # noqa: E402
from policykg.graph.loading.quarantine import Quarantine  # noqa: E402
from policykg.graph.mapping.rules import Mapping  # noqa: E402
from policykg.graph.rdf.uris import Uris  # noqa: E402
from policykg.graph.store.embedded import OxigraphStore  # noqa: E402

BASE = "http://localhost:8000/"


def copy_store(store: Path, work: Path) -> Path:
    """A fresh copy of the store under work/store."""
    target = work / "store"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(store, target)
    return target


def new_corpus(corpus: Path, records: int, after: int) -> list[Path]:
    """The files of a synthetic corpus (seed 2) numbered after ``after`` records, made unless
    ``corpus`` holds it already."""
    wanted = synthetic.Manifest(records, 1000, 2, 0.03, after=after)
    found = synthetic.read_manifest(corpus)
    if found is None or found.key() != wanted.key():
        shutil.rmtree(corpus, ignore_errors=True)
        found = synthetic.generate(records, corpus, 1000, 2, 0.03, after)
    return [corpus / name for name in found.files]


def load(store_path: Path, files: list[Path], quarantine: Path, workers: int | None) -> dict:
    """Load the files into the store; the figures of the load alone."""
    store = OxigraphStore(store_path)
    uris = Uris(BASE)
    loader = Loader(store, uris, Mapping.load(), Quarantine(quarantine), workers=workers,
                    reference=prepare(store, uris))
    items = (item for path in files for item in readers.read(str(path), None))
    started, cpu = time.perf_counter(), time.process_time()
    summary = loader.load(items)
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    store.close()
    return {"read": summary.read, "loaded": summary.loaded, "replaced": summary.replaced,
            "rejected": summary.rejected, "seconds": wall, "rate": summary.read / wall,
            "cpu": time.process_time() - cpu,
            "workers_cpu": children.ru_utime + children.ru_stime}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="the store to load into")
    parser.add_argument("--work", type=Path, required=True, help="corpus, copy and quarantine")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--after", type=int, default=1_000_000,
                        help="number the new records after this many")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: as policykg load)")
    parser.add_argument("--in-place", action="store_true",
                        help="load into STORE itself rather than a copy")
    args = parser.parse_args(argv)
    files = new_corpus(args.work / "corpus", args.records, args.after)
    store = args.store if args.in_place else copy_store(args.store, args.work)
    shutil.rmtree(args.work / "quarantine", ignore_errors=True)
    figures = load(store, files, args.work / "quarantine", args.workers)
    print(f"{figures['read']} records (loaded {figures['loaded']}, replaced "
          f"{figures['replaced']}, rejected {figures['rejected']}) in {figures['seconds']:.1f} s:"
          f" {figures['rate']:.0f} records/s; CPU {figures['cpu']:.1f} s in this process, "
          f"{figures['workers_cpu']:.1f} s in workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
