"""CPU time a linked-data page costs the app, in one process (no HTTP server, no client): the
figure behind the README's in-process page cost.

    python bench/page_cpu.py --store STORE [--pages 300] [--seed 1] [--kind publication]

Opens the app over an embedded store (read-only), shows a few pages to warm it, then the pages
of ``--pages`` things of a kind picked at random: first cold (their data not read before), then
the same again warm; prints CPU ms a page (``time.process_time``) and wall ms for each pass.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from policykg.graph.config import Settings
from policykg.webapp.app import create_app

PKG = "https://w3id.org/policykg/ontology#"
CLASSES = {"publication": PKG + "Publication", "person": "http://xmlns.com/foaf/0.1/Person"}
WARM_UP = 20


def keys(store, kind: str) -> list[str]:
    """The keys of the things of a kind in the store."""
    rows = store.query(f"SELECT ?thing WHERE {{ ?thing a <{CLASSES[kind]}> }}")
    return sorted({row["thing"].value.rsplit("/", 1)[1] for row in rows})


def timed(client, paths: list[str]) -> tuple[float, float]:
    """(CPU ms, wall ms) a page over the paths."""
    cpu, wall = time.process_time(), time.perf_counter()
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            sys.exit(f"{path}: HTTP {response.status_code}")
    count = len(paths)
    return ((time.process_time() - cpu) * 1000 / count,
            (time.perf_counter() - wall) * 1000 / count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kind", choices=sorted(CLASSES), default="publication")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        app = create_app(Settings(home=home, store=f"oxigraph:{args.store}"))
        client = app.test_client()
        found = keys(app.extensions["policykg.store"], args.kind)
        chosen = random.Random(args.seed).sample(found, min(len(found), args.pages + WARM_UP))
        paths = [f"/doc/{args.kind}/{key}.html" for key in chosen]
        timed(client, paths[:WARM_UP])
        for label in ("cold", "warm"):
            cpu, wall = timed(client, paths[WARM_UP:])
            print(f"{label}: {cpu:.2f} ms CPU a page, {wall:.2f} ms wall "
                  f"({len(paths) - WARM_UP} {args.kind} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
