"""Where batches are prepared: in worker processes, or in the loading process itself.

Preparing (mapping, SHACL validation, entailments, policykg.graph.prepare) is pure Python and
holds the GIL, so it scales with processes, not threads. A pool of workers prepares the next
batches while the loading process reads records and writes finished batches to the store.
Workers get the load's Context once, when they start; each batch goes in as records and comes
back as problems and N-Quads text. A worker whose loading process dies (killed) exits too.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from policykg.graph.prepare import Context, Job, Prepared, prepare
from policykg.graph.validate import load_shapes

Pending = Callable[[], list[Prepared]]

_context: Context | None = None  # a worker's, set when it starts


def default_workers() -> int:
    """One worker per CPU (at most 4): the loading process's own work (reading, writing to
    the store, which releases the GIL) fits next to them."""
    return max(1, min(os.cpu_count() or 1, 4))


class InProcess:
    """Prepares each batch in the loading process, when its result is asked for."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.depth = 1

    def submit(self, jobs: list[Job]) -> Pending:
        return lambda: prepare(jobs, self.context)

    def close(self, error: bool = False) -> None:
        """Nothing to release."""


class WorkerPool:
    """Prepares batches in worker processes, results in the order they were submitted."""

    def __init__(self, context: Context, workers: int) -> None:
        method = "fork" if sys.platform == "linux" else "spawn"
        self._pool = multiprocessing.get_context(method).Pool(
            workers, initializer=_start, initargs=(context, os.getpid()))
        self.depth = workers + 1  # batches in flight: one queued behind each busy worker

    def submit(self, jobs: list[Job]) -> Pending:
        return self._pool.apply_async(_prepare, (jobs,)).get

    def close(self, error: bool = False) -> None:
        """Stop the workers: at once after an error, else once they are idle."""
        if error:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


def _start(context: Context, parent: int) -> None:
    """A worker's start: keep the context, leave Ctrl-C to the loading process, and exit if
    that process goes away (a SIGKILL leaves workers waiting on a queue nobody feeds)."""
    global _context
    _context = context
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    load_shapes()
    gc.freeze()  # what the worker keeps is never garbage: no collection need walk it again


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _prepare(jobs: list[Job]) -> list[Prepared]:
    assert _context is not None, "worker not started"
    return prepare(jobs, _context)
