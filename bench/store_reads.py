"""How fast a read-only open of an embedded store reads (as the served app does): the quads
of publications picked at random, in microseconds a quad. Run it on a store as a load left it,
then after ``policykg --store STORE compact``, to see what compacting spares the readers.

    python bench/store_reads.py --store STORE [--publications 1000] [--rounds 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import pyoxigraph as ox

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


if __name__ == "__main__":
    main()
