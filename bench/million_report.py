"""The tables of bench/million.py, from its figures (WORK/million-results.json).

    python bench/million_report.py WORK/million-results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LOAD_CPU_RATIO = 5.0  # the load's CPU at most this many times the raw bulk load's
LOAD_MINUTES = 45
LOAD_MEMORY_MIB = 2048
LAST_SLICE = 0.85  # the last slice's rate at least this share of the first's
KB_A_PUBLICATION = 25.0
QUERY_MS = 1000.0
PAGE_MS = 20.0
SEARCH_P95_MS = 150.0
YES = {True: "yes", False: "**no**", None: "-"}


def load_table(figures: dict) -> list[str]:
    """Each load: wall, CPU, memory, the first and last slices."""
    lines = ["| load | records | loaded | wall s | CPU s | peak tree PSS MiB | first slice "
             "rec/s | last slice rec/s | last / first |", "|---|---:|---:|---:|---:|---:|---:|"
             "---:|---:|"]
    for key, label in (("load", "large"), ("small_load", "small")):
        if key in figures:
            run = figures[key]
            slices = run["slices"] or [{"rate": None}]
            lines.append(f"| {label} | {figures['records'] if key == 'load' else '-'} | "
                         f"{run['loaded']} | {run['seconds']} | {run['cpu_seconds']} | "
                         f"{run['peak_tree_pss_mib']} | {slices[0]['rate']} | "
                         f"{slices[-1]['rate']} | {run['last_to_first']} |")
    if "raw_load" in figures:
        raw = figures["raw_load"]
        lines.append(f"| raw `oxigraph load` of the large store's quads | | | {raw['seconds']} "
                     f"| {raw['cpu_seconds']} | | | | |")
    return lines


def disk_table(figures: dict) -> list[str]:
    """Each store after compaction, by part."""
    lines = ["| store after compaction | total MiB | quads | text index | pair counts | KB a "
             "publication | compaction s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for key, seconds, label in (("disk", "compact_seconds", "large"),
                                ("small_disk", "small_compact_seconds", "small")):
        if key in figures:
            d = figures[key]
            lines.append(f"| {label} | {d['total_mib']} | {d['quads_mib']} | "
                         f"{d['text_index_mib']} | {d['pair_counts_mib']} | "
                         f"{d['kb_a_publication']['total']} | {figures.get(seconds)} |")
    lines += ["", "| graphs of the large store | quads | a publication |", "|---|---:|---:|"]
    publications = figures["load"]["loaded"] or 1
    for kind, count in figures["graphs"].items():
        lines.append(f"| {kind} | {count:,} | {count / publications:.1f} |")
    return lines


def serve_table(figures: dict) -> list[str]:
    """Named queries, pages and searches on both stores."""
    if "serve" not in figures:
        return []
    large, small = figures["serve"], figures.get("small_serve")
    lines = ["| named query | API median ms (large) | /sparql | oxigraph | API median ms "
             "(small) |", "|---|---:|---:|---:|---:|"]
    for name, row in large["compare"]["queries"].items():
        other = small["compare"]["queries"].get(name, {}) if small else {}
        lines.append(f"| {name} | {_ms(row, 'api')} | {_ms(row, 'app')} | "
                     f"{_ms(row, 'oxigraph')} | {_ms(other, 'api')} |")
    lines += ["", "| page or search | large | small |", "|---|---:|---:|"]
    for key in large["compare"]["documents"]:
        lines.append(f"| {key} median ms | {large['compare']['documents'][key].get('median_ms')}"
                     f" | {_get(small, 'compare', 'documents', key, 'median_ms')} |")
    for key, label in (("per_second", "pages/s, 16 clients"),
                       ("server_cpu_ms_per_request", "server CPU ms a page")):
        lines.append(f"| {label} | {large['compare']['throughput']['pages app'][key]} | "
                     f"{_get(small, 'compare', 'throughput', 'pages app', key)} |")
    small_searches = {s["search"]: s for s in (small or {}).get("searches", [])}
    for search in large["searches"]:
        lines.append(f"| search: {search['search']}, server p95 ms | {search['server_p95_ms']}"
                     f" | {small_searches.get(search['search'], {}).get('server_p95_ms')} |")
    return lines


def _ms(row: dict, key: str) -> object:
    return row.get(key, {}).get("median_ms", row.get(key, {}).get("problem"))


def _get(figures: dict | None, *keys: str) -> object:
    for key in keys:
        if not isinstance(figures, dict):
            return None
        figures = figures.get(key)
    return figures


def _incremental_target(run: dict, load: dict) -> tuple[str, str, bool | None]:
    """The incremental load's CPU a record beside the whole load's: a cost in proportion to the
    records shows as a like figure (the command's fixed costs aside); judged by reading."""
    records = run["new"] + run["changed"]
    own = 1000 * run["cpu_seconds"] / records
    whole = 1000 * load["cpu_seconds"] / max(load["loaded"] + load["rejected"], 1)
    return ("incremental load in proportion to its records",
            f"{run['seconds']} s, {own:.1f} ms CPU a record (the whole load {whole:.1f})", None)


def targets(figures: dict) -> list[str]:
    """The targets of a million-record store, met or not."""
    load, rows = figures["load"], []
    raw = figures.get("raw_load")
    ratio = round(load["cpu_seconds"] / raw["cpu_seconds"], 2) if raw else None
    rows.append((f"load CPU <= {LOAD_CPU_RATIO:.0f}x the raw bulk load's", f"{ratio}x",
                 None if ratio is None else ratio <= LOAD_CPU_RATIO))
    rows.append((f"load <= {LOAD_MINUTES} min (faster machines)",
                 f"{load['seconds'] / 60:.1f} min", load["seconds"] <= LOAD_MINUTES * 60))
    rows.append(("peak memory of the process tree <= 2 GiB", f"{load['peak_tree_pss_mib']} MiB",
                 (load["peak_tree_pss_mib"] or 0) <= LOAD_MEMORY_MIB))
    rows.append((f"last slice >= {LAST_SLICE:.0%} of the first's rate", load["last_to_first"],
                 None if load["last_to_first"] is None else load["last_to_first"] >= LAST_SLICE))
    kb = figures["disk"]["kb_a_publication"]["total"]
    rows.append((f"store and indexes <= {KB_A_PUBLICATION:.0f} KB a publication", f"{kb} KB",
                 kb <= KB_A_PUBLICATION))
    if "serve" in figures:
        rows += _serving_targets(figures)
    if "incremental" in figures:
        rows.append(_incremental_target(figures["incremental"], load))
    return ["| target | measured | met |", "|---|---|---|"] + [
        f"| {goal} | {measured} | {YES[met]} |" for goal, measured, met in rows]


def _serving_targets(figures: dict) -> list[tuple[str, object, bool | None]]:
    large, small = figures["serve"], figures.get("small_serve")
    queries = large["compare"]["queries"]
    slow = [n for n, q in queries.items() if not q["targets"]["within_1s"]]
    over = [n for n, q in queries.items() if q["targets"].get("overhead_ok") is False]
    page = _get(large, "compare", "documents", "publication.html", "median_ms")
    cpu = large["compare"]["throughput"]["pages app"]["server_cpu_ms_per_request"]
    small_cpu = _get(small, "compare", "throughput", "pages app", "server_cpu_ms_per_request")
    worst = max(s["server_p95_ms"] for s in large["searches"])
    return [
        ("every named query <= 1 s median", ", ".join(slow) or f"all {len(queries)}", not slow),
        ("app /sparql <= 1.5x oxigraph (<= +5 ms under 10 ms)", ", ".join(over) or "all", not over),
        (f"publication page <= {PAGE_MS:.0f} ms median", f"{page} ms",
         page is not None and page <= PAGE_MS),
        ("server CPU a page (16 clients) no more than on the small store",
         f"{cpu} ms against {small_cpu} ms",
         None if small_cpu is None else cpu <= small_cpu),
        (f"search with every facet <= {SEARCH_P95_MS:.0f} ms p95", f"slowest {worst} ms",
         worst <= SEARCH_P95_MS),
    ]


def report(figures: dict) -> str:
    """Every table, as markdown."""
    head = (f"{figures['records']:,} records; CPU loop {figures.get('cpu_loop_seconds')} s; "
            f"load averages {figures['load_average']}")
    return "\n".join([head, "", *load_table(figures), "", *disk_table(figures), "",
                      *serve_table(figures), "", *targets(figures)])


if __name__ == "__main__":
    print(report(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
