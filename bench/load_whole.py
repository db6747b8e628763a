"""Load benchmark, one command: the whole corpus in a single ``policykg load``.

    python bench/load_whole.py --records 100000 [--slice 10000] [--work DIR]

bench/load.py runs one ``policykg load`` per batch of 10k records, and each pays a process
start (imports, the vocabularies, a worker started), the closing tally refresh and the store's
close, which waits for RocksDB's running compactions: 10-15 s a batch at 100k records. Here the
corpus (bench/synthetic.py, the same as bench/load.py's for the same arguments) goes in with
one command into an empty store, as a librarian would load it. The command is the real CLI,
run in a child process whose progress bar is replaced by a recorder of when each batch was
written, so that the rate of each slice of ``--slice`` records shows whether late records go in
slower than early ones.

Reports the wall seconds from the process start to its exit (the store closed), records/s, CPU
seconds (user + system, workers included), each slice's rate, the first against the last,
peak tree PSS (bench/load.py's sampler) and the store's size; writes WORK/whole-results.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package


class Recorder:
    """Stands for the CLI's progress bar: appends "wall-clock-time records" per batch written."""

    total = None  # the bar's total, which the recorder does without

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed on __exit__

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()

    def update(self, count: int) -> None:
        """A batch of ``count`` records is written."""
        self._file.write(f"{time.time():.3f} {count}\n")
        self._file.flush()


def child(progress: Path, cli_args: list[str]) -> None:
    """Run the CLI in this process with its progress recorded (never returns)."""
    from policykg.graph import cli
    from policykg.graph.cli import loading
    loading._progress = lambda quiet, total=None: Recorder(progress)
    cli.main(cli_args)


def slices(progress: Path, started: float, size: int) -> list[dict]:
    """Each slice of ``size`` records written: when it ended and its records/s."""
    out, done, last_time, last_done = [], 0, started, 0
    for line in progress.read_text(encoding="utf-8").splitlines():
        stamp, count = line.split()
        done += int(count)
        if done - last_done >= size:
            seconds = float(stamp) - last_time
            out.append({"records": done - last_done, "ended_at": round(float(stamp) - started, 1),
                        "seconds": round(seconds, 1), "rate": round((done - last_done) / seconds)})
            last_time, last_done = float(stamp), done
    return out


def measure(args: argparse.Namespace) -> dict:
    """Generate or reuse the corpus, load it in one command, return the figures."""
    corpus_args = argparse.Namespace(records=args.records, per_file=1000, seed=1,
                                     invalid_rate=0.03, regenerate=False)
    manifest, _ = load_bench.ensure_corpus(args.work / "corpus", corpus_args)
    store, progress = args.work / "store", args.work / "progress.txt"
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(args.work / "policykg-data", ignore_errors=True)  # the CLI's default home
    progress.unlink(missing_ok=True)
    folder = load_bench.make_batches(args.work / "corpus", manifest, manifest.records,
                                     args.work / "batches")[0][0]  # the pages, no manifest
    command = [sys.executable, __file__, "--child", str(progress), "--",
               "--store", str(store), "load", str(folder), "--quiet"]
    started = time.time()
    run = load_bench.run_cli(command, args.work / "whole", args.work)
    if run.code not in (0, 1) or "Traceback" in run.stderr:
        sys.exit(f"the load failed with exit {run.code}:\n{run.stderr[-3000:]}")
    parts = slices(progress, started, args.slice)
    return {
        "records": manifest.records, "seconds": round(run.seconds, 1),
        "rate": round(manifest.records / run.seconds, 1), "cpu_seconds": round(run.cpu_seconds, 1),
        "slices": parts, "first_to_last": round(parts[-1]["rate"] / parts[0]["rate"], 2),
        "peak_tree_pss_mib": run.tree_pss_mib and round(run.tree_pss_mib),
        "store_mib": round(load_bench.disk_usage_mib(store)),
        "summary": run.stdout.strip().splitlines(), "text": manifest.text,
    }


def report(figures: dict) -> str:
    """The figures as markdown."""
    lines = [f"{figures['records']:,} records in one `policykg load`: {figures['seconds']} s "
             f"({figures['rate']} records/s), CPU {figures['cpu_seconds']} s, peak tree PSS "
             f"{figures['peak_tree_pss_mib']} MiB, store {figures['store_mib']} MiB",
             "", "| slice | records | ended at (s) | seconds | records/s |",
             "|---|---:|---:|---:|---:|"]
    for number, part in enumerate(figures["slices"], start=1):
        lines.append(f"| {number} | {part['records']:,} | {part['ended_at']} | {part['seconds']} "
                     f"| {part['rate']} |")
    lines.append(f"\nlast slice / first: {figures['first_to_last']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(Path(argv[1]), argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--slice", type=int, default=10_000, help="records a slice [10000]")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-bench-whole"))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    figures = measure(args)
    print(report(figures))
    (args.work / "whole-results.json").write_text(json.dumps(figures, indent=2) + "\n",
                                                 encoding="utf-8")
    print(f"figures written to {args.work / 'whole-results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
