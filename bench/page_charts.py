"""What a page's charts cost the server: each page rendered in one process through the app
(Flask's test client, no HTTP), with its charts and with them left out, interleaved, so that
the machine's other jobs weigh on both alike.

    python bench/page_charts.py --store /tmp/policykg-bench-discovery/store [--runs 25]

The store: one loaded and compacted (bench/pages_discovery.py makes one). The pages: the most
prolific person, the largest JEL code, region and department, the search page and the home
page (its charts counted on its first request, then kept until the store changes). Prints
the median wall and CPU ms of each, with and without charts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from policykg.graph.config import Settings
from policykg.webapp.app import create_app
from policykg.webapp.discovery import search_page
from policykg.webapp.linked_data import pages
from policykg.webapp.site import dataset

BUILDERS = {"pages": pages._charts, "search": search_page._charts,
            "home": dataset.collection_charts}


def switch(on: bool) -> None:
    """Charts drawn (on) or left out of every page (off)."""
    pages._charts = BUILDERS["pages"] if on else (lambda *args, **kwargs: [])
    search_page._charts = BUILDERS["search"] if on else (lambda *args, **kwargs: [])
    dataset.collection_charts = BUILDERS["home"] if on else (lambda *args, **kwargs: [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--paths", nargs="*", default=[
        "/doc/person/camacho-carmen", "/doc/jel/N", "/doc/region/americas", "/doc/org/scl",
        "/search?q=policy", "/"])
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="page-charts-")
    client = create_app(Settings(home=home, store=f"oxigraph:{args.store}")).test_client()
    times: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for run in range(args.runs + 2):  # two warming rounds
        for on in (True, False):
            switch(on)
            for path in args.paths:
                wall, cpu = time.perf_counter(), time.process_time()
                reply = client.get(path, headers={"Accept": "text/html"})
                if reply.status_code != 200:
                    sys.exit(f"{path}: HTTP {reply.status_code}")
                if run >= 2:
                    times.setdefault((path, on), []).append(
                        ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
    print("| page | wall ms, charts | wall ms, none | CPU ms, charts | CPU ms, none |")
    print("|---|---:|---:|---:|---:|")
    for path in args.paths:
        row = [statistics.median(t[i] for t in times[(path, on)]) for i in (0, 1)
               for on in (True, False)]
        print(f"| `{path}` | " + " | ".join(f"{value:.1f}" for value in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
