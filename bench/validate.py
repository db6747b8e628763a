"""``policykg validate`` against the validation part of a load, on the same records.

    python bench/validate.py --records 5000 [--work DIR] [--per-file 500]

1. a synthetic corpus (bench/synthetic.py, reused when it matches) is loaded in one process
   (``workers=0``) into a store holding only the vocabularies, with the CPU time of the load's
   SHACL validation step measured in the thread that runs it (bench/profile_load.py's clock);
2. ``policykg validate`` runs on that store as a user runs it, its standard error a terminal:
   its wall time, the CPU time of its processes, and when its progress bar first moved.

Prints a markdown table and writes the figures to WORK/validate.json.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import load as load_bench  # noqa: E402 - bench/ is not a package
import profile_load  # noqa: E402

# tqdm's bar: "  12%|...| 600/4850 [00:03<00:21, 190.1 records/s]"
_BAR = re.compile(rb"(\d+)/(\d+) \[")


def load_step(corpus: Path, work: Path, records: int) -> tuple[int, float]:
    """Load the corpus in one process; (records read, CPU seconds of its SHACL validation)."""
    clock = profile_load.StepClock()
    clock.install()
    store, count, _ = profile_load.load_once(corpus, work, records, clock)
    store.close()
    return count, clock.seconds["SHACL validation (pyshacl)"]


def run_validate(store: Path) -> dict[str, float | int | str | None]:
    """``policykg validate`` on the store, its standard error a terminal (where its progress
    bar shows): wall and CPU seconds, the bar's total and when it first moved."""
    command = [str(load_bench.cli_path()), "--store", f"oxigraph:{store}", "validate"]
    terminal, child_end = pty.openpty()
    # an 80-column terminal: tqdm draws nothing on one of no width
    fcntl.ioctl(child_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    started = time.perf_counter()
    before = os.times()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=child_end)
    os.close(child_end)
    moved: list[float] = []
    totals: list[int] = []

    def watch() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the command ended: the terminal's other end is closed
                return
            if not chunk:
                return
            for done, total in _BAR.findall(chunk):
                totals.append(int(total))
                if int(done) > 0 and not moved:
                    moved.append(time.perf_counter() - started)

    watcher = threading.Thread(target=watch)
    watcher.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    after = os.times()
    watcher.join()
    os.close(terminal)
    lines = output.decode("utf-8").strip().splitlines()
    return {"exit": process.returncode, "seconds": seconds,
            "cpu": (after.children_user + after.children_system)
            - (before.children_user + before.children_system),
            "first_move": moved[0] if moved else None, "total": totals[0] if totals else None,
            "verdict": lines[-1] if lines else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/policykg-validate"))
    parser.add_argument("--per-file", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid-rate", type=float, default=0.03)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    load_bench.ensure_corpus(args.work / "corpus", args)
    count, shacl = load_step(args.work / "corpus", args.work, args.records)
    figures = run_validate(args.work / "profile" / "store")
    publications = figures["total"] or count
    figures.update(records=count, load_shacl_cpu=shacl, load_avg=os.getloadavg()[0],
                   uptime=subprocess.run(["uptime"], capture_output=True, text=True,
                                         check=False).stdout.strip())
    (args.work / "validate.json").write_text(json.dumps(figures, indent=1))
    cpu, seconds = float(figures["cpu"] or 0), float(figures["seconds"] or 0)
    print(f"\n{count} records loaded; validate: {figures['verdict']} (exit {figures['exit']})")
    print("| | seconds | CPU s | ms CPU a publication |\n|---|---:|---:|---:|")
    print(f"| the load's SHACL validation step | | {shacl:.1f} | {shacl * 1000 / count:.2f} |")
    print(f"| `policykg validate` | {seconds:.1f} | {cpu:.1f} | "
          f"{cpu * 1000 / publications:.2f} |")
    first = figures["first_move"]
    print(f"\nprogress bar: total {figures['total']}, first moved after "
          f"{'never' if first is None else f'{first:.1f} s'}; uptime: {figures['uptime']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
