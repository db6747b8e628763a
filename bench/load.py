"""Load benchmark: a synthetic corpus loaded batch by batch with the real ``policykg`` CLI.

    python bench/load.py --records 100000 --batch 10000 [--work DIR]

Generates the corpus (bench/synthetic.py) or reuses it, starts from an empty store and runs
``policykg --store WORK/store load BATCHDIR --quiet`` (in WORK, so the CLI's default home with
its quarantine is WORK/policykg-data) once per batch. Reports per batch and
overall: records, seconds, records/s, CPU seconds (the load's processes, user + system),
rejected, peak memory, store size on disk; prints a markdown table and writes the figures as
JSON (WORK/load-results.json). Each batch pays a process start, the closing refresh and the
store's close; bench/load_whole.py loads the same corpus in one command instead.

Memory: the load runs worker processes next to the CLI process, so its peak RSS (the largest
single process, from os.wait4) is not the whole story. On Linux the tree of processes is also
sampled every 0.2 s: the peak of the sum of their proportional set sizes (PSS: pages shared
between them, as after a fork, counted once) is what the memory target is checked against.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic  # bench/ is not a package: imported from its folder

TARGET_RATE = 420.0
TARGET_RSS_MIB = 1536.0
SLOWDOWN_TOLERANCE = 0.9  # the last batch must keep at least this share of the first's rate
COUNT = r"(\d+(?:,\d{3})*)"


@dataclass
class Batch:
    """One CLI run."""

    number: int
    files: int
    records: int
    seconds: float
    rate: float
    cpu_seconds: float
    exit_code: int
    rejected: int | None
    loaded: int | None
    warnings: int | None
    peak_rss_mib: float
    peak_tree_pss_mib: float | None
    store_mib: float
    summary: str


# --- corpus and batches -------------------------------------------------------------------


def ensure_corpus(corpus: Path, args: argparse.Namespace) -> tuple[synthetic.Manifest, float]:
    """Reuse the corpus when its manifest matches the arguments, else (re)generate it."""
    wanted = synthetic.Manifest(args.records, args.per_file, args.seed, args.invalid_rate)
    found = synthetic.read_manifest(corpus)
    if found and found.key() == wanted.key() and not args.regenerate:
        print(f"reusing corpus {corpus} ({found.records} records)", flush=True)
        return found, 0.0
    if corpus.exists():
        shutil.rmtree(corpus)
    print(f"generating {args.records} records into {corpus} ...", flush=True)
    started = time.perf_counter()
    manifest = synthetic.generate(args.records, corpus, args.per_file, args.seed, args.invalid_rate)
    seconds = time.perf_counter() - started
    print(f"generated in {seconds:.1f} s ({args.records / seconds:.0f} records/s)", flush=True)
    return manifest, seconds


def make_batches(corpus: Path, manifest: synthetic.Manifest, batch: int, root: Path) -> list:
    """Hard-link the corpus files into root/batch-NN folders of ``batch`` records each."""
    if batch % manifest.per_file:
        sys.exit(f"--batch {batch} must be a multiple of --per-file {manifest.per_file}")
    if root.exists():
        shutil.rmtree(root)
    per_batch = batch // manifest.per_file
    batches = []
    for start in range(0, len(manifest.files), per_batch):
        folder = root / f"batch-{start // per_batch + 1:02d}"
        folder.mkdir(parents=True)
        names = manifest.files[start : start + per_batch]
        for name in names:
            link(corpus / name, folder / name)
        first = start * manifest.per_file
        records = min(manifest.records, first + len(names) * manifest.per_file) - first
        batches.append((folder, len(names), records))
    return batches


def link(source: Path, target: Path) -> None:
    """Hard link, or copy where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# --- running and measuring ----------------------------------------------------------------


def cli_path(given: Path | None = None) -> Path:
    """The policykg console script installed next to this interpreter (or the one given)."""
    script = given or Path(sys.executable).parent / "policykg"
    if not script.exists():
        sys.exit(f"no policykg console script at {script}: pip install -e .")
    return script.resolve() if given else script


@dataclass
class Run:
    """What one CLI run did."""

    code: int
    seconds: float
    cpu_seconds: float
    rss_mib: float
    tree_pss_mib: float | None
    stdout: str
    stderr: str


def run_cli(command: list[str], log: Path, cwd: Path) -> Run:
    """Run one load in ``cwd`` and measure it.

    The peak RSS is the largest of the child's and of the processes it waited for (os.wait4);
    the CPU time is theirs summed. The tree's PSS is sampled while it runs (Linux only).
    """
    with open(log.with_suffix(".out"), "w+b") as out, open(log.with_suffix(".err"), "w+b") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd)
        sampler = TreeMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        tree_pss = sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return Run(proc.returncode, seconds, cpu, usage.ru_maxrss * scale / 2**20, tree_pss,
               stdout, stderr)


class TreeMemory:
    """Samples the summed PSS of a process and its descendants until stopped (Linux)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._interval = interval
        self._done = threading.Event()
        self._enabled = Path(f"/proc/{pid}/smaps_rollup").exists()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if self._enabled:
            self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            self.peak_kib = max(self.peak_kib, sum(map(_pss_kib, _descendants(self.pid))))

    def stop(self) -> float | None:
        """The peak in MiB (None where it cannot be measured)."""
        self._done.set()
        if not self._enabled:
            return None
        self._thread.join()
        return self.peak_kib / 1024


def _descendants(pid: int) -> list[int]:
    """A process and its descendants (from /proc/PID/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the process ended meanwhile
                todo.extend(int(child) for child in task.read_text().split())
    return found


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def summary_count(text: str, word: str) -> int | None:
    """The number next to ``word`` in the CLI summary ("300 rejected", "rejected: 300")."""
    for pattern in (rf"\b{word}\w*\W{{0,3}}{COUNT}", rf"{COUNT}\s+(?:records?\s+)?{word}"):
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return int(match.group(1).replace(",", ""))
    return None


def disk_usage_mib(folder: Path) -> float:
    """Space used on disk by a folder, like du -s (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in [folder, *folder.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total / 2**20


def load_batch(number: int, batch: tuple, store: Path, logs: Path, args) -> Batch:
    """Load one batch folder into the store and measure it."""
    folder, files, records = batch
    command = [str(cli_path(args.cli)), "--store", str(store)]
    if args.base:
        command += ["--base", args.base]
    command += ["load", str(folder), "--quiet"]
    run = run_cli(command, logs / folder.name, store.parent)
    code, stdout, stderr = run.code, run.stdout, run.stderr
    if code not in (0, 1) or (code == 1 and "Traceback" in stderr):
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        sys.exit(f"batch {number}: {' '.join(command)} failed with exit {code}:\n{tail}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    return Batch(
        number=number,
        files=files,
        records=records,
        seconds=round(run.seconds, 2),
        rate=round(records / run.seconds, 1),
        cpu_seconds=round(run.cpu_seconds, 2),
        exit_code=code,
        rejected=summary_count(stdout, "rejected"),
        loaded=summary_count(stdout, "loaded"),
        warnings=summary_count(stdout, "warning"),
        peak_rss_mib=round(run.rss_mib, 1),
        peak_tree_pss_mib=None if run.tree_pss_mib is None else round(run.tree_pss_mib, 1),
        store_mib=round(disk_usage_mib(store), 1),
        summary="\n".join(lines[-5:]),
    )


# --- reporting ----------------------------------------------------------------------------


def overall(batches: list[Batch], manifest: synthetic.Manifest) -> dict:
    """Totals and the three targets."""
    records = sum(b.records for b in batches)
    seconds = sum(b.seconds for b in batches)
    rejected = [b.rejected for b in batches]
    first, last = batches[0], batches[-1]
    ratio = last.rate / first.rate if first.rate else 0.0
    peak = max(b.peak_rss_mib for b in batches)
    tree = [b.peak_tree_pss_mib for b in batches]
    tree_peak = None if None in tree else max(tree)
    memory = peak if tree_peak is None else max(peak, tree_peak)
    cpu = sum(b.cpu_seconds for b in batches)
    rate = records / seconds
    return {
        "records": records,
        "seconds": round(seconds, 2),
        "rate": round(rate, 1),
        "rejected": None if None in rejected else sum(rejected),
        "invalid_generated": sum(manifest.invalid.values()),
        "peak_rss_mib": peak,
        "peak_tree_pss_mib": tree_peak,
        "peak_memory_mib": memory,
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_record": round(1000 * cpu / records, 2),
        "store_mib": last.store_mib,
        "first_batch_rate": first.rate,
        "last_batch_rate": last.rate,
        "last_to_first": round(ratio, 3),
        "targets": {
            "throughput": rate >= TARGET_RATE,
            "seconds_per_100k": round(100_000 / rate, 1),
            "peak_rss": memory <= TARGET_RSS_MIB,
            "no_slowdown": ratio >= SLOWDOWN_TOLERANCE,
        },
    }


def fmt(value, digits: int = 0) -> str:
    """A number with thousands separators, or a dash for unknown."""
    return "-" if value is None else f"{value:,.{digits}f}"


def markdown(batches: list[Batch], total: dict) -> str:
    """The README tables: per batch, then targets."""
    rows = [
        "| Batch | Records | Seconds | Records/s | CPU s | CPU ms/record | Rejected "
        "| Peak RSS (MiB) | Peak tree PSS (MiB) | Store (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in batches:
        rows.append(
            f"| {b.number} | {fmt(b.records)} | {fmt(b.seconds, 1)} | {fmt(b.rate)} | "
            f"{fmt(b.cpu_seconds, 1)} | {fmt(1000 * b.cpu_seconds / b.records, 2)} | "
            f"{fmt(b.rejected)} | {fmt(b.peak_rss_mib)} | {fmt(b.peak_tree_pss_mib)} | "
            f"{fmt(b.store_mib)} |"
        )
    rows.append(
        f"| **all** | **{fmt(total['records'])}** | **{fmt(total['seconds'], 1)}** | "
        f"**{fmt(total['rate'])}** | **{fmt(total['cpu_seconds'], 1)}** | "
        f"**{fmt(total['cpu_ms_per_record'], 2)}** | **{fmt(total['rejected'])}** | "
        f"**{fmt(total['peak_rss_mib'])}** | **{fmt(total['peak_tree_pss_mib'])}** | "
        f"**{fmt(total['store_mib'])}** |"
    )
    met = total["targets"]
    yes = {True: "yes", False: "**no**"}
    rows += [
        "",
        "| Target | Goal | Measured | Met |",
        "|---|---|---|---|",
        f"| Throughput | >= {TARGET_RATE:.0f} records/s (100k in <= 4 min) | "
        f"{fmt(total['rate'])} records/s (100k in {met['seconds_per_100k'] / 60:.1f} min) | "
        f"{yes[met['throughput']]} |",
        f"| Peak memory (processes' PSS summed) | <= {TARGET_RSS_MIB / 1024:.1f} GiB | "
        f"{total['peak_memory_mib'] / 1024:.2f} GiB | {yes[met['peak_rss']]} |",
        f"| No slowdown | batch {len(batches)} >= {SLOWDOWN_TOLERANCE:.0%} of batch 1 | "
        f"{fmt(total['last_batch_rate'])} vs {fmt(total['first_batch_rate'])} records/s "
        f"({total['last_to_first']:.2f}) | {yes[met['no_slowdown']]} |",
    ]
    return "\n".join(rows)


def environment() -> dict:
    """Where the figures were measured."""
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text(errors="replace"))
        cpu = found.group(1).strip() if found else cpu
    versions = {}
    for package in ("policykg", "pyoxigraph", "rdflib", "pyshacl", "owlrl"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "packages": versions,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000, help="records per CLI run")
    default_work = Path(tempfile.gettempdir()) / "policykg-bench"
    parser.add_argument("--work", type=Path, default=default_work, help="corpus, store, logs")
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid-rate", type=float, default=0.03)
    parser.add_argument("--regenerate", action="store_true", help="do not reuse the corpus")
    parser.add_argument("--base", help="instance base IRI passed to the CLI")
    parser.add_argument("--json", type=Path, help="results file (default WORK/load-results.json)")
    parser.add_argument("--cli", type=Path, help="the policykg executable [next to python]")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse the corpus, load it batch by batch, report."""
    args = parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    cli_path(args.cli)
    manifest, gen_seconds = ensure_corpus(work / "corpus", args)
    batches = make_batches(work / "corpus", manifest, args.batch, work / "batches")
    store, logs = work / "store", work / "logs"
    for stale in (store, work / "policykg-data"):  # the store and the CLI's default home
        if stale.exists():
            shutil.rmtree(stale)
    logs.mkdir(exist_ok=True)
    results = []
    for number, batch in enumerate(batches, start=1):
        result = load_batch(number, batch, store, logs, args)
        results.append(result)
        print(
            f"batch {number}/{len(batches)}: {result.records} records in {result.seconds:.1f} s "
            f"({result.rate:.0f}/s, CPU {result.cpu_seconds:.0f} s), "
            f"rejected {fmt(result.rejected)}, RSS {result.peak_rss_mib:.0f} MiB, "
            f"tree PSS {fmt(result.peak_tree_pss_mib)} MiB, store {result.store_mib:.0f} MiB",
            flush=True,
        )
    total = overall(results, manifest)
    table = markdown(results, total)
    report = {
        "parameters": {**manifest.key(), "batch": args.batch},
        "generation_seconds": round(gen_seconds, 2) if gen_seconds else None,
        "batches": [asdict(b) for b in results],
        "overall": total,
        "environment": environment(),
        "markdown": table,
    }
    out = args.json or work / "load-results.json"
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("\n" + table + f"\n\nfigures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
