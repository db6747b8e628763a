"""Time every named query of the catalogue (sparql/*.rq) against a store; print a markdown table.

    python bench/queries.py --home DIR [--runs 9] [--heavy] [--set word-search.word=policy]
                            [--only NAME ...] [--refresh]

Each query runs once to warm up, then ``--runs`` times; the table gives rows, median and p95
wall-clock ms, median CPU ms of this process (what the query costs on a machine busy with other
work), and whether the median is within the budget (1 s). ``--heavy`` replaces the defaults of
person, keyword and operation parameters with the most frequent value in the store (so a
synthetic corpus is timed on its biggest answers); ``--set`` gives any parameter a value.
``--refresh`` first brings the aggregates up to date (opens the store read-write).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterable

from policykg.graph.config import load_settings
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import open_store
from policykg.webapp.api.catalogue import NamedQuery, catalogue, run

BUDGET_MS = 1000.0
# The most frequent value of a parameter type: a property whose objects it names.
HEAVY = {
    "person": "http://purl.org/dc/terms/creator",
    "keyword": "https://w3id.org/policykg/ontology#keyword",
    "operation": "https://w3id.org/policykg/ontology#operation",
}
HEAVY_QUERY = """SELECT ?value (COUNT(*) AS ?count) WHERE {{ ?thing <{}> ?value }}
GROUP BY ?value ORDER BY DESC(?count) LIMIT 1"""


def heavy_values(store, uris: Uris, types: Iterable[str]) -> dict[str, str]:
    """Parameter type -> the key of its most frequent value in the store."""
    found = {}
    for type_name in types:
        if type_name in HEAVY:
            for row in store.query(HEAVY_QUERY.format(HEAVY[type_name])):
                kind_key = uris.split(row["value"].value)
                if kind_key:
                    found[type_name] = kind_key[1]
    return found


def arguments(query: NamedQuery, heavy: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """The values a query is timed with: --set values, then heavy values, else defaults."""
    args = {}
    for parameter in query.parameters:
        key = f"{query.name}.{parameter.name}"
        if key in given:
            args[parameter.name] = given[key]
        elif parameter.type.name in heavy:
            args[parameter.name] = heavy[parameter.type.name]
    return args


def time_query(query: NamedQuery, store, uris: Uris, args: dict[str, str], runs: int,
               max_rows: int) -> tuple[int, list[float], list[float]]:
    """(rows, wall-clock ms of each timed run, CPU ms of each) for one query."""
    rows = len(run(query, store, args, uris, max_rows).rows)
    wall, cpu = [], []
    for _ in range(runs):
        started, processor = time.perf_counter(), time.process_time()
        run(query, store, args, uris, max_rows)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - processor) * 1000)
    return rows, wall, cpu


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of some values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exits 1 when a median is over budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--store", help="oxigraph:PATH [HOME/store]")
    parser.add_argument("--base")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--heavy", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="QUERY.PARAM=VALUE")
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--refresh", action="store_true")
    args = parser.parse_args(argv)
    settings = load_settings(None, home=args.home, store=args.store, base=args.base)
    uris = Uris(settings.base)
    if args.refresh:
        from policykg.graph import aggregates
        writable = open_store(settings.store_location)
        print(aggregates.refresh(writable, uris).line(), file=sys.stderr)
        writable.close()
        del writable
    store = open_store(settings.store_location, read_only=True)
    queries = [q for name, q in catalogue().items() if not args.only or name in args.only]
    given = dict(item.split("=", 1) for item in args.set)
    heavy = heavy_values(store, uris, {p.type.name for q in queries for p in q.parameters}) \
        if args.heavy else {}
    print(f"store {settings.store_location}, {args.runs} runs each\n")
    print("| query | parameters | rows | median ms | p95 ms | median CPU ms | within 1 s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | :---: |")
    over = 0
    for query in queries:
        values = arguments(query, heavy, given)
        rows, times, cpu = time_query(query, store, uris, values, args.runs, settings.max_rows)
        median = statistics.median(times)
        over += median > BUDGET_MS
        shown = ", ".join(f"{k}={v}" for k, v in values.items()) or "defaults"
        print(f"| {query.name} | {shown} | {rows} | {median:.1f} | "
              f"{percentile(times, 0.95):.1f} | {statistics.median(cpu):.1f} | "
              f"{'yes' if median <= BUDGET_MS else 'NO'} |")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
