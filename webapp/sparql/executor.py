"""SPARQL evaluation off the request thread, in query processes that can be killed (the
evaluation itself: ``evaluation``).

Design (the embedded Oxigraph store on disk):

- Reads: a small pool of pre-started processes (``query_workers``; each a
  ``python -m policykg.webapp.sparql.evaluation`` child talking over two pipes), each holding a
  read-only ``pyoxigraph.Store`` opened on the store folder. A request leases an idle worker,
  sends it a :class:`QueryJob` and waits for its answer. When the time limit passes the worker is
  killed (SIGKILL: the query really stops), a fresh one is started in the background and the
  caller answers 503; the other workers keep serving other clients meanwhile.
- Freshness: a read-only RocksDB store sees the data as of when it was opened, never later
  writes. Before each job a worker compares a fingerprint of the store folder (names, sizes
  and times of CURRENT, MANIFEST-* and the write-ahead logs, which every write changes and a
  read-only open does not) with the one it opened, and reopens the store when it differs. So
  a ``policykg load`` (another process) or an update is seen by the next query, with no
  signal needed from the writer. Reopening is cheap; during a long load, queries see each
  committed batch. A failed reopen keeps the previous store.
- Writes: Oxigraph admits one read-write process, and ``policykg load`` must be able to write
  while the server runs, so nobody holds the store read-write for long. SPARQL Update runs in
  one writer process that opens the store read-write for each update, applies it, closes it
  (releasing the lock) and only then answers; a load in progress makes it answer 503. The
  writer is killed on time-out like the readers (RocksDB drops the uncommitted transaction).
- In memory (tests, or a store without a path): there is no other process to share the data
  with, so jobs run in a daemon thread over the same store. A timed-out job is answered with
  503 but its thread cannot be killed and runs to its end.
- A remote store (``policykg.graph.store.remote``): the store evaluates; jobs run in daemon
  threads that forward the query (or update) to it, each request limited to the job's time
  (the store is asked to stop then too: Virtuoso's ``timeout``), so the thread ends when the
  caller answers 503. An unreachable store is answered 503 with a clear message.

Results are streamed: the worker evaluates at most ``max_rows + 1`` rows (so that truncation
is known before the response headers), then pyoxigraph serialises them in chunks that are
passed on to the HTTP response as they come.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from flask import Flask, current_app

from policykg.graph.store import GraphStore
from policykg.graph.store.embedded.folder import fingerprint
from policykg.webapp.context import app_settings
from policykg.webapp.sparql import evaluation
from policykg.webapp.sparql.evaluation import (
    START_TIMEOUT,
    Answer,
    Message,
    QueryJob,
    Timeout,
    execute,
)

# How a process that overflowed its stack ends: SIGSEGV, or SIGABRT when Rust reports it.
CRASHES = frozenset({-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS})


class _Channel:
    """Where a job's messages arrive: a worker's pipe, or a thread's queue."""

    def receive(self, timeout: float) -> Message | None:
        raise NotImplementedError

    def abandon(self) -> None:
        """Stop the job (kill its worker); the channel is not used again."""

    def release(self) -> None:
        """The job ended normally; the channel may serve another one."""


def run(channel: _Channel, timeout: float, limit: float | None = None) -> Answer:
    """Wait for a job's first message; then the body streams from ``Answer.chunks``.

    ``timeout`` is the time left; ``limit`` the whole time limit, for the message.
    """
    budget = _Budget(timeout)
    message = budget.receive(channel)
    if message is None:
        channel.abandon()
        return Answer(503, f"the query took longer than the limit of {limit or timeout:g} s "
                           "and was stopped; make it more selective (LIMIT, more specific "
                           "patterns)")
    tag = message[0]
    if tag in ("error", "end", "value"):
        channel.release()
    if tag == "error":
        return Answer(message[1], message[2])
    if tag == "value":
        return Answer(200, value=message[1])
    if tag == "end":
        return Answer(200)
    return Answer(200, head=message[1], chunks=_body(channel, budget))


class _Budget:
    """The time a job may spend: only waiting for the worker counts, not slow clients."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def receive(self, channel: _Channel) -> Message | None:
        start = time.monotonic()
        message = channel.receive(max(self.left, 0.0))
        self.left -= time.monotonic() - start
        return message


def _body(channel: _Channel, budget: _Budget) -> Iterator[bytes]:
    finished = False
    try:
        while True:
            message = budget.receive(channel)
            if message is None:
                raise Timeout("the query ran out of time while its results were sent")
            if message[0] == "end":
                finished = True
                channel.release()
                return
            if message[0] == "error":
                finished = True
                channel.release()
                raise RuntimeError(message[2])
            yield message[1]
    finally:
        if not finished:
            channel.abandon()


class _Worker(_Channel):
    """A worker process (``python -m policykg.webapp.sparql.evaluation``) and its two pipes.

    A plain subprocess rather than multiprocessing: nothing of the parent (its ``__main__``
    above all) is imported again in the child.
    """

    def __init__(self, pool: ProcessPool) -> None:
        jobs_read, jobs_write = os.pipe()
        messages_read, messages_write = os.pipe()
        command = [sys.executable, "-m", evaluation.__name__, pool.role, pool.path,
                   str(jobs_read), str(messages_write)]
        self.process = subprocess.Popen(command, pass_fds=(jobs_read, messages_write),
                                        stdin=subprocess.DEVNULL)
        os.close(jobs_read)
        os.close(messages_write)
        self.jobs = Connection(jobs_write, readable=False)
        self.messages = Connection(messages_read, writable=False)
        self.pool = pool

    def ready(self) -> bool:
        try:
            return self.messages.poll(START_TIMEOUT) and self.messages.recv() == ("ready",)
        except (EOFError, OSError):
            return False

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, job: QueryJob) -> None:
        self.jobs.send(job)

    def receive(self, timeout: float) -> Message | None:
        try:
            return self.messages.recv() if self.messages.poll(timeout) else None
        except (EOFError, OSError):
            return ("error", *self._death())

    def _death(self) -> tuple[int, str]:
        """Why the worker died, as an HTTP status and message: a crash (a stack overflow of
        the native parser or evaluator, on a query deep or long beyond what it takes) is the
        query's doing, 400; any other death the server's, 500."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self.process.returncode in CRASHES:
            return 400, ("the query process crashed on this request: it nests or chains "
                         "operations (UNION, OPTIONAL, FILTER, joins, operators) too deep for "
                         "the SPARQL engine; write it with fewer levels")
        return 500, "the query worker died"

    def abandon(self) -> None:
        self.stop()
        self.pool.replace()

    def release(self) -> None:
        self.pool.idle.put(self)

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.jobs.close()
        self.messages.close()


class ProcessPool:
    """Pre-started worker processes over the store folder, each killable."""

    def __init__(self, path: str, size: int, role: str = "reader") -> None:
        self.path = path
        self.role = role
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.workers: set[_Worker] = set()
        self.lock = threading.Lock()
        self.closed = False
        for _ in range(max(size, 1)):
            self.replace()

    def replace(self) -> None:
        """Start a worker in the background; it joins the idle ones once ready."""
        if self.closed:
            return
        threading.Thread(target=self._start, daemon=True, name="policykg-sparql-start").start()

    def _start(self) -> None:
        worker = _Worker(self)
        with self.lock:
            self.workers.add(worker)
        if worker.ready() and not self.closed:
            self.idle.put(worker)
            return
        worker.stop()
        with self.lock:
            self.workers.discard(worker)

    def submit(self, job: QueryJob, timeout: float) -> Answer:
        """Run a job on an idle worker (waiting at most ``timeout`` for one)."""
        deadline = time.monotonic() + timeout
        worker = self._lease(timeout)
        if worker is None:
            return Answer(503, "every query worker is busy; try again shortly")
        try:
            worker.send(job)
        except OSError:
            worker.abandon()
            return Answer(503, "the query worker was not reachable; try again")
        return run(worker, max(deadline - time.monotonic(), 0.0), timeout)

    def _lease(self, timeout: float) -> _Worker | None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                worker = self.idle.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                return None
            if worker.alive():
                return worker
            worker.abandon()

    def close(self) -> None:
        """Stop every worker."""
        self.closed = True
        with self.lock:
            workers = list(self.workers)
            self.workers.clear()
        for worker in workers:
            worker.stop()


class _ThreadJob(_Channel):
    def __init__(self) -> None:
        self.messages: queue.Queue[Message] = queue.Queue()

    def receive(self, timeout: float) -> Message | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None


class ThreadRunner:
    """Jobs in daemon threads over a store in memory; a timed-out job cannot be killed."""

    def __init__(self, store: Any, lock: threading.Lock | None = None) -> None:
        self.store = store
        self.lock = lock  # updates: one at a time

    def submit(self, job: QueryJob, timeout: float) -> Answer:
        channel = _ThreadJob()
        threading.Thread(target=self._work, args=(job, channel), daemon=True,
                         name="policykg-sparql-job").start()
        return run(channel, timeout)

    def _work(self, job: QueryJob, channel: _ThreadJob) -> None:
        if self.lock is None:
            execute(self.store, job, channel.messages.put)
            return
        with self.lock:
            execute(self.store, job, channel.messages.put)

    def close(self) -> None:
        """Nothing to stop: threads end with their job."""


@dataclass
class Executor:
    """The readers and the writer of one store, as the web app uses them."""

    readers: ProcessPool | ThreadRunner
    writer: ProcessPool | ThreadRunner | None
    path: str | None
    pid: int = field(default_factory=os.getpid)

    def close(self) -> None:
        """Stop all worker processes."""
        self.readers.close()
        if self.writer is not None:
            self.writer.close()

    def generation(self) -> object:
        """Something that changes when the store is written (None: unknown, in memory)."""
        return fingerprint(self.path) if self.path else None


def make_executor(store: GraphStore, workers: int, writable: bool = True) -> Executor:
    """Worker processes for a store in a folder of this machine, threads for anything else."""
    writer: ProcessPool | ThreadRunner | None
    if not store.in_process:
        writer = ThreadRunner(store.writable(), threading.Lock()) if writable else None
        return Executor(ThreadRunner(store), writer, None)
    folder = store.folder
    if folder is not None:
        readers = ProcessPool(str(folder), workers)
        writer = ProcessPool(str(folder), 1, role="writer") if writable else None
        return Executor(readers, writer, str(folder))
    writer = ThreadRunner(store, threading.Lock()) if writable else None
    return Executor(ThreadRunner(store), writer, None)


_lock = threading.Lock()


def app_executor() -> Executor:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        executor = app.extensions.get("policykg.sparql")
        if executor is None or executor.pid != os.getpid():
            executor = make_executor(app.extensions["policykg.store"],
                                     app_settings().query_workers,
                                     writable=bool(app_settings().update_token))
            app.extensions["policykg.sparql"] = executor
            atexit.register(executor.close)
    return executor


def close_app_executor(app: Flask) -> None:
    """Stop the app's query workers (they also stop when the process exits)."""
    executor = app.extensions.pop("policykg.sparql", None)
    if executor is not None:
        executor.close()
