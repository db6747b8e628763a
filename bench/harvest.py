"""Harvest benchmark: ``policykg harvest`` from the local test OAI-PMH server, end to end,
against ``policykg load`` of the same records from files.

    python bench/harvest.py --records 20000 [--page-size 100] [--repeat 2] [--work DIR]

Starts tests/oai_server.py in a process of its own on 127.0.0.1 (synthetic records of
bench/synthetic.py, 3 % invalid, also written as ListRecords files), prepares a store with
the vocabularies installed (each run starts from a copy of it, so that neither pays for their
closure), then times ``policykg harvest URL --quiet`` and ``policykg load FILES --quiet``.
Prints records/s of both, the harvest's HTTP time (from its summary: time spent waiting for
responses) and its rate without it; the target is a harvest at least as fast as the load once
the HTTP time is taken out. Writes the figures as JSON (WORK/harvest-results.json).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTTP = re.compile(r"HTTP (\d+) response\(s\), ([\d.]+) s")


def start_server(args: argparse.Namespace, files: Path) -> tuple[subprocess.Popen, str]:
    """The test server in its own process; its URL once it has written the files."""
    command = [sys.executable, str(ROOT / "tests" / "oai_server.py"), "--records",
               str(args.records), "--page-size", str(args.page_size), "--files", str(files)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        server.kill()
        sys.exit(f"the test server did not start: {url!r}")
    return server, url


def prepare_store(home: Path) -> None:
    """A store under ``home`` with the vocabularies and their closure installed."""
    code = ("import sys; from policykg.graph.store.embedded import open_store; "
            "from policykg.graph.inference.reference import prepare; "
            "from policykg.graph.rdf.uris import Uris; "
            "from policykg.graph.rdf.uris import DEFAULT_BASE as B; "
            "s = open_store('oxigraph:' + sys.argv[1]); prepare(s, Uris(B)); s.close()")
    subprocess.run([sys.executable, "-c", code, str(home / "store")], check=True)


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run a command; its wall time, its CPU time (user + system: less sensitive than the wall
    time to what else the machine runs) and its standard output."""
    before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, _children_cpu() - before, done.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def policykg(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "policykg.graph.cli", "--home", str(home), *args]


def measure(args: argparse.Namespace, work: Path) -> dict:
    """Both runs over the same records, ``--repeat`` times in alternating order (the machine
    may be busy: the best time of each counts); their figures."""
    files, template = work / "files", work / "template"
    for folder in (files, template):
        shutil.rmtree(folder, ignore_errors=True)
    server, url = start_server(args, files)
    harvests: list[tuple[float, float, str]] = []
    loads: list[tuple[float, str]] = []
    try:
        prepare_store(template)
        for repetition in range(args.repeat):
            runs = [lambda: harvests.append(run_harvest(url, template, work)),
                    lambda: loads.append(run_load(files, template, work))]
            for run in runs if repetition % 2 == 0 else reversed(runs):
                run()
    finally:
        server.kill()
        server.wait()
    return figures(args, min(harvests), min(loads))


def fresh_home(template: Path, home: Path) -> Path:
    """A home whose store is a copy of the prepared one."""
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(template, home)
    return home


def run_harvest(url: str, template: Path, work: Path) -> tuple[float, float, float, str]:
    """One harvest into a fresh store: seconds, HTTP seconds, CPU seconds, output."""
    home = fresh_home(template, work / "harvest")
    seconds, cpu, output = timed(policykg(home, "harvest", url, "--quiet"))
    found = HTTP.search(output)
    http_seconds = float(found.group(2)) if found else 0.0
    print(f"harvest: {seconds:.1f} s (HTTP {http_seconds:.1f} s, CPU {cpu:.1f} s)", flush=True)
    return seconds, http_seconds, cpu, output


def run_load(files: Path, template: Path, work: Path) -> tuple[float, float, str]:
    """One load of the files into a fresh store: seconds, CPU seconds, output."""
    home = fresh_home(template, work / "load")
    seconds, cpu, output = timed(policykg(home, "load", str(files), "--quiet"))
    print(f"load: {seconds:.1f} s (CPU {cpu:.1f} s)", flush=True)
    return seconds, cpu, output


def figures(args: argparse.Namespace, harvest: tuple[float, float, float, str],
            load: tuple[float, float, str]) -> dict:
    """The best runs as reported."""
    harvest_s, http_s, harvest_cpu, harvest_out = harvest
    load_s, load_cpu, load_out = load
    found = HTTP.search(harvest_out)
    return {
        "records": args.records, "page_size": args.page_size, "repeat": args.repeat,
        "harvest_seconds": round(harvest_s, 1), "http_seconds": round(http_s, 1),
        "http_responses": int(found.group(1)) if found else None,
        "harvest_cpu_seconds": round(harvest_cpu, 1), "load_cpu_seconds": round(load_cpu, 1),
        "load_seconds": round(load_s, 1),
        "harvest_rate": round(args.records / harvest_s, 1),
        "harvest_rate_without_http": round(args.records / (harvest_s - http_s), 1),
        "load_rate": round(args.records / load_s, 1),
        "target_met": harvest_s - http_s <= load_s,
        "harvest_summary": harvest_out.strip().splitlines(),
        "load_summary": load_out.strip().splitlines(),
    }


def report(figures: dict) -> None:
    print(f"\n| run | records | seconds | records/s |\n|---|---|---|---|\n"
          f"| load (files) | {figures['records']} | {figures['load_seconds']} | "
          f"{figures['load_rate']} |\n"
          f"| harvest (HTTP, page {figures['page_size']}) | {figures['records']} | "
          f"{figures['harvest_seconds']} | {figures['harvest_rate']} |\n"
          f"| harvest less HTTP time ({figures['http_seconds']} s, "
          f"{figures['http_responses']} responses) | {figures['records']} | "
          f"{round(figures['harvest_seconds'] - figures['http_seconds'], 1)} | "
          f"{figures['harvest_rate_without_http']} |")
    print(f"CPU seconds: harvest {figures['harvest_cpu_seconds']} (its HTTP client and the "
          f"page parsing included), load {figures['load_cpu_seconds']}")
    verdict = "met" if figures["target_met"] else "NOT met"
    print(f"\ntarget (harvest time less HTTP time <= load time): {verdict}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1,
                        help="Run both this many times, alternating their order [1].")
    parser.add_argument("--work", type=Path, help="Working folder [a temporary one].")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="policykg-harvest-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    figures = measure(args, work)
    report(figures)
    (work / "harvest-results.json").write_text(json.dumps(figures, indent=1) + "\n", "utf-8")
    print(f"figures in {work / 'harvest-results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
