"""The progress bar of the long commands (load, harvest, validate, export, remove, reindex):
its total is counted before the work starts, so that it shows a rate and the time left from
its first step. On standard error, and only when that is a terminal (or never: ``--quiet``).
"""

from __future__ import annotations

import sys
from typing import Any


def shown(quiet: bool) -> bool:
    """Whether a bar shows: not ``--quiet``, and standard error is a terminal. (Counting a
    total is worth its cost only then.)"""
    return not quiet and sys.stderr.isatty()


def progress_bar(total: int | None, quiet: bool = False, unit: str = " records") -> Any:
    """A tqdm bar over ``total`` units (None: not known in advance)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=True if quiet else None, file=sys.stderr,
                smoothing=0.1, unit_scale=unit.strip() == "quads")


def settle(bar: Any) -> None:
    """End the bar at what was done, where the total was an estimate (records counted in the
    files, quads in the store) that the work came out above or below."""
    if bar.total is not None and bar.n != bar.total:
        bar.total = bar.n
        bar.refresh()


class CountingWriter:
    """A binary output that moves a bar by the lines written through it (a quad a line in
    N-Quads and N-Triples; about a triple a line in TriG and Turtle)."""

    def __init__(self, output: Any, bar: Any) -> None:
        self._output = output
        self._bar = bar

    def write(self, data: bytes) -> int:
        self._bar.update(data.count(b"\n"))
        return self._output.write(data)

    def flush(self) -> None:
        self._output.flush()
