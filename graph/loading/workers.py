"""Where batches are prepared: in worker processes, and in the loading process itself (and,
the same way, where ``policykg validate`` validates the stored records: a task of its own).

Preparing (mapping, SHACL validation, entailments: ``prepare``) is pure Python and
holds the GIL, so it scales with processes, not threads. Worker processes prepare batches while
the loading process reads records, settles prepared batches and writes them (the store write
releases the GIL); when every worker is busy, the loading process prepares the next batch
itself rather than wait. Workers get the load's Context once, when they start; each batch goes
in as records and comes back as problems and N-Quads text. A worker whose loading process dies
(killed) exits too.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing.pool import AsyncResult
from typing import Any

from policykg.graph.loading.prepare import Context, RecordJob, prepare
from policykg.graph.validation.shacl import load_shapes

_context: Any = None  # a worker's, set when it starts
_task: Callable[[Any, Any], Any] = prepare  # what a worker does with a batch and the context
WATCH_SECONDS = 1.0  # how often a wait on a worker's batch checks that the workers live


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory) with a batch it was preparing."""


def default_workers() -> int:
    """One worker process per CPU but one (at most 4): the loading process prepares batches
    too, and writes to the store."""
    return max(0, min((os.cpu_count() or 1) - 1, 4))


class Pending:
    """A batch being prepared: ``ready()`` says whether its result is there without waiting;
    calling it returns the result (preparing it now if it is the loading process's to
    prepare). ``alive`` says whether the workers that may hold it still live: a batch whose
    worker died never comes back, and waiting on it raises WorkerLost instead of waiting for
    ever."""

    def __init__(self, result: AsyncResult | None = None,
                 local: Callable[[], Any] | None = None,
                 alive: Callable[[], bool] = lambda: True) -> None:
        self._result = result
        self._local = local
        self._alive = alive
        self._prepared: Any = None

    @property
    def local(self) -> bool:
        """Whether the loading process prepares it."""
        return self._local is not None

    def ready(self) -> bool:
        if self._result is not None:
            return self._result.ready()
        return self._prepared is not None

    def __call__(self) -> Any:
        """The batch's result: a list of Prepared for a load's batch."""
        if self._result is not None:
            while not self._result.ready():
                self._result.wait(WATCH_SECONDS)
                if not self._result.ready() and not self._alive():
                    raise WorkerLost("a worker process preparing records died (killed, or out "
                                     "of memory?) with the batch it had")
            return self._result.get()
        if self._prepared is None:
            assert self._local is not None
            self._prepared = self._local()
        return self._prepared


class Preparers:
    """Worker processes (none when ``workers`` is 0) and the loading process: a batch goes to a
    worker if one is idle, else is the loading process's to prepare. ``task(batch, context)``
    is what is done with a batch: ``prepare`` (a load's), or another."""

    def __init__(self, context: Context | Any, workers: int,
                 task: Callable[[Any, Any], Any] = prepare) -> None:
        self.context = context
        self.workers = workers
        self.task = task
        self._pool = None
        self._pids: set[int] = set()  # the workers: a pool replaces one that dies, silently
        if workers > 0:
            method = "fork" if sys.platform == "linux" else "spawn"
            before = _children()
            self._pool = multiprocessing.get_context(method).Pool(
                workers, initializer=_start, initargs=(task, context, os.getpid()))
            self._pids = _children() - before
        self._sent: list[AsyncResult] = []
        self.depth = workers + 1  # batches in flight: one per worker, one for this process

    def submit(self, jobs: list[RecordJob] | Any) -> Pending:
        """Start preparing a batch."""
        self._sent = [result for result in self._sent if not result.ready()]
        if self._pool is not None and len(self._sent) < self.workers:
            result = self._pool.apply_async(_prepare, (jobs,))
            self._sent.append(result)
            return Pending(result=result, alive=self.workers_alive)
        return Pending(local=lambda: self.task(jobs, self.context))

    @staticmethod
    def work_while_waiting(head: Pending, queued: Iterable[Pending]) -> None:
        """Before waiting on a worker's batch, prepare a batch that is this process's to
        prepare, if one is queued."""
        if head.ready():
            return
        for pending in queued:
            if pending.local and not pending.ready():
                pending()
                return

    def workers_alive(self) -> bool:
        """Whether every worker process started with the pool still lives."""
        return self._pids <= _children()

    def close(self) -> None:
        """Stop the workers once the batches sent to them are prepared (at most one each: a
        second or so), after an error too. Not terminated while they live: a worker killed
        while sending its batch back dies holding the results queue's lock, and
        multiprocessing's shutdown then waits on that lock for ever (a load whose store failed
        hung instead of reporting). Terminated when one died: its batch never comes back, and
        a pool waits for every batch before it closes."""
        if self._pool is None:
            return
        if self.workers_alive():
            self._pool.close()
        else:
            self._pool.terminate()
        self._pool.join()


def _children() -> set[int]:
    """The process ids of this process's live multiprocessing children."""
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


def _start(task: Callable[[Any, Any], Any], context: Any, parent: int) -> None:
    """A worker's start: keep the task and the context, leave Ctrl-C to the loading process,
    and exit if that process goes away (a SIGKILL leaves workers waiting on a queue nobody
    feeds)."""
    global _context, _task
    _context, _task = context, task
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    load_shapes()
    gc.freeze()  # what the worker keeps is never garbage: no collection need walk it again


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _prepare(jobs: Any) -> Any:
    assert _context is not None, "worker not started"
    return _task(jobs, _context)
