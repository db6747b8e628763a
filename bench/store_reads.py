"""How fast a read-only open of an embedded store reads (as the served app does): the quads
of publications picked at random, in microseconds a quad. Run it on a store as a load left it,
then after ``policykg --store STORE compact``, to see what compacting spares the readers. Also
what a served store's reopen after a write costs: its private snapshot of the folder taken
(policykg.graph.store.embedded.read_snapshot), then the read-only open of it.

    python bench/store_reads.py --store STORE [--publications 1000] [--rounds 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import pyoxigraph as ox

from policykg.graph.store.embedded.read_snapshot import Snapshots

PUBLICATION = ox.NamedNode("https://w3id.org/policykg/ontology#Publication")
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def publications(store: ox.Store, count: int, seed: int) -> list[ox.NamedNode]:
    """Publications of the store picked at random (the same for the same seed and store)."""
    found = sorted({quad.subject for quad in store.quads_for_pattern(None, TYPE, PUBLICATION)},
                   key=str)
    return random.Random(seed).sample(found, min(count, len(found)))


def read_round(store: ox.Store, subjects: list[ox.NamedNode]) -> tuple[float, int]:
    """(CPU seconds, quads) to read every quad of the subjects."""
    start, quads = time.process_time(), 0
    for subject in subjects:
        quads += sum(1 for _ in store.quads_for_pattern(subject, None, None))
    return time.process_time() - start, quads


def reopens(path: Path, times: int = 10) -> list[tuple[float, float]]:
    """(seconds to take a snapshot, seconds to open it read-only) of ``times`` reopens."""
    snapshots, timings = Snapshots(path), []
    try:
        for _ in range(times):
            start = time.perf_counter()
            taken = snapshots.take()
            if taken is None:
                raise SystemExit(f"no snapshot could be taken of {path} (hard links refused?)")
            taken_at = time.perf_counter()
            opened = ox.Store.read_only(str(taken))
            timings.append((taken_at - start, time.perf_counter() - taken_at))
            del opened  # closed before its snapshot goes
    finally:
        snapshots.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--publications", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    store = ox.Store.read_only(str(args.store))
    subjects = publications(store, args.publications, args.seed)
    files = len(list(args.store.glob("*.sst")))
    print(f"{args.store}: {files} table files; {len(subjects)} publications")
    for number in range(1, args.rounds + 1):
        seconds, quads = read_round(store, subjects)
        print(f"round {number}: {seconds * 1e6 / quads:.2f} us a quad, "
              f"{seconds * 1e3 / len(subjects):.2f} ms a publication ({quads / len(subjects):.0f} "
              f"quads each)")
    timings = reopens(args.store)
    print("a reopen: snapshot taken in " + ", ".join(f"{t * 1e3:.1f}" for t, _ in timings)
          + " ms; opened in " + ", ".join(f"{o * 1e3:.1f}" for _, o in timings) + " ms")


if __name__ == "__main__":
    main()
