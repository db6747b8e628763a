"""SPARQL evaluation off the request thread, in worker processes that can be killed.

Design (the embedded Oxigraph store on disk):

- Reads: a small pool of pre-started processes (``query_workers``; each a
  ``python -m policykg.webapp.sparql.query_worker`` child talking over two pipes), each holding a
  read-only ``pyoxigraph.Store`` opened on the store folder. A request leases an idle worker,
  sends it a :class:`Job` and waits for its answer. When the time limit passes the worker is
  killed (SIGKILL: the query really stops), a fresh one is started in the background and the
  caller answers 503; the other workers keep serving other clients meanwhile.
- Freshness: a read-only RocksDB store sees the data as of when it was opened, never later
  writes. Before each job a worker compares a fingerprint of the store folder (names, sizes
  and times of CURRENT, MANIFEST-* and the write-ahead logs, which every write changes and a
  read-only open does not) with the one it opened, and reopens the store when it differs. So
  a ``policykg load`` (another process) or an update is seen by the next query, with no
  signal needed from the writer. Reopening costs ~15 ms; during a long load, queries see each
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

import contextlib
import gc
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from policykg.graph.aggregates import AggregateIndex
from policykg.graph.store import GraphStore, StoreError, StoreUnavailable
from policykg.graph.store.embedded import OxigraphStore
from policykg.graph.store.embedded.folder import COMPACTED_AWAY, READ_ONLY_ATTEMPTS, fingerprint

RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "rdf": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}
CHUNK = 64 * 1024
START_TIMEOUT = 60.0  # seconds a new worker process may take to start

Message = tuple[Any, ...]
Send = Callable[[Message], None]


@dataclass(frozen=True)
class Job:
    """One piece of work: a query, an update, or a query whose rows come back as values."""

    kind: str                                  # "query", "update" or "values"
    text: str
    base_iri: str | None = None
    union: bool = True                         # the union of all graphs as default graph
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    formats: dict[str, str] = field(default_factory=dict)  # "select"/"ask"/"graph" -> format
    max_rows: int = 10_000
    timeout: float | None = None               # seconds (a remote store stops the job then)


@dataclass(frozen=True)
class Head:
    """What a query produced, known before its body: the response headers."""

    form: str        # "select", "ask" or "graph"
    format: str      # a key of RESULT_FORMATS or GRAPH_FORMATS
    rows: int
    truncated: bool


@dataclass
class Answer:
    """The outcome of a job: an error status and message, or a head and the body's chunks."""

    status: int
    message: str = ""
    head: Head | None = None
    chunks: Iterator[bytes] = field(default_factory=lambda: iter(()))
    value: object = None


class Timeout(Exception):
    """The job ran out of time and its worker was stopped."""


# --- evaluation: runs in a worker process or thread -----------------------------------------

def execute(store: Any, job: Job, send: Send) -> None:
    """Run a job on a store, reporting through ``send``: an error, or head, data..., end."""
    # a store elsewhere is told the time limit; one in this process is stopped by killing it
    limit = {"timeout": job.timeout} if not store.in_process and job.timeout else {}
    try:
        if job.kind == "update":
            store.update(job.text, base_iri=job.base_iri, **limit)
            # records may have changed: the next load recounts the tallies (aggregates)
            store.update(AggregateIndex.pending_update(), base_iri=job.base_iri, **limit)
            send(("end",))
        elif job.kind == "values":
            send(("value", _values(store.query(job.text, **_options(job), **limit))))
        else:
            _answer_query(store.query(job.text, **_options(job), **limit), job, send)
    except SyntaxError as error:
        send(("error", 400, f"SPARQL syntax error: {error}"))
    except StoreUnavailable as error:
        send(("error", 503, str(error)))
    except ValueError as error:
        send(("error", 400, str(error)))
    except StoreError as error:
        send(("error", 502, str(error)))
    except Exception as error:
        send(("error", 500, f"{type(error).__name__}: {error}"))


def _options(job: Job) -> dict[str, Any]:
    options: dict[str, Any] = {"base_iri": job.base_iri}
    if job.default_graph is not None:
        options["default_graph"] = [ox.NamedNode(iri) for iri in job.default_graph]
    if job.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(iri) for iri in job.named_graphs]
    options["use_default_graph_as_union"] = (
        job.union and job.default_graph is None and job.named_graphs is None)
    return options


def _values(result: Any) -> list[dict[str, str | None]]:
    names = [variable.value for variable in result.variables]
    return [{n: None if s[n] is None else s[n].value for n in names} for s in result]


def _form(result: Any) -> str:
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph" if isinstance(result, ox.QueryTriples) else "select"


def _answer_query(result: Any, job: Job, send: Send) -> None:
    form = _form(result)
    key = job.formats.get(form)
    if key is None:
        send(("error", 406, f"cannot give the results of this {form.upper()} query in the "
                            "requested format"))
        return
    if form == "ask":
        send(("head", Head(form, key, 1, False)))
        _stream(lambda out: result.serialize(out, RESULT_FORMATS[key]), send)
        return
    items = list(islice(result, job.max_rows + 1))
    truncated = len(items) > job.max_rows
    items = items[: job.max_rows]
    send(("head", Head(form, key, len(items), truncated)))
    if form == "graph":
        _stream(lambda out: ox.serialize(items, out, GRAPH_FORMATS[key]), send)
    else:
        solutions = _solutions(result.variables, items)
        _stream(lambda out: solutions.serialize(out, RESULT_FORMATS[key]), send)


def _solutions(variables: list[ox.Variable], rows: list[ox.QuerySolution]) -> ox.QuerySolutions:
    """The kept rows as a QuerySolutions again, for pyoxigraph's serialisers (via TSV)."""
    lines = ["\t".join(str(variable) for variable in variables)]
    lines += ["\t".join(_term(row[variable]) for variable in variables) for row in rows]
    text = "\n".join(lines) + "\n"
    return ox.parse_query_results(text.encode("utf-8"), ox.QueryResultsFormat.TSV)


def _term(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):
        return f"<<( {_term(term.subject)} {_term(term.predicate)} {_term(term.object)} )>>"
    return str(term)


class _ChunkWriter:
    """A binary file that passes what is written on as ("data", bytes) messages."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.send(("data", bytes(self.buffer)))
            self.buffer.clear()


def _stream(serialize: Callable[[_ChunkWriter], None], send: Send) -> None:
    out = _ChunkWriter(send)
    serialize(out)
    out.flush()
    send(("end",))


# --- the store folder ------------------------------------------------------------------------

def serve_reader(jobs: Connection, out: Connection, path: str) -> None:
    """A reader process: answer jobs on a read-only store until the pipe closes."""
    reader: OxigraphStore | None = None
    out.send(("ready",))
    for job in _jobs(jobs):
        try:
            reader = reader or OxigraphStore(path, read_only=True)
        except (OSError, RuntimeError) as error:
            out.send(("error", 503, f"the store cannot be opened: {error}"))
            continue
        _execute_following(reader, job, out.send)


def _execute_following(reader: OxigraphStore, job: Job, send: Send) -> None:
    """Run a job on a read-only store; if a load's compaction took away a file of its snapshot
    before anything was answered, reopen the store and run the job again (a few times)."""
    for _ in range(1, READ_ONLY_ATTEMPTS):
        answered = again = False

        def forward(message: Message) -> None:
            nonlocal answered, again
            if not answered and message[0] == "error" and COMPACTED_AWAY in str(message[2]):
                again = True
                return
            answered = True
            send(message)

        execute(reader, job, forward)
        if not again:
            return
        reader.reopen()
    execute(reader, job, send)


def serve_writer(jobs: Connection, out: Connection, path: str) -> None:
    """The writer process: open the store read-write for each update, then release it."""
    out.send(("ready",))
    for job in _jobs(jobs):
        messages: list[Message] = []
        try:
            store = OxigraphStore(path)
        except OSError as error:
            out.send(("error", 503, f"the store is locked by another writer (a load?), "
                                    f"try again later: {error}"))
            continue
        execute(store, job, messages.append)
        store.close()
        del store
        gc.collect()  # the lock goes with the last reference: release it before answering
        for message in messages:
            out.send(message)


def _jobs(jobs: Connection) -> Iterator[Job]:
    while True:
        try:
            yield jobs.recv()
        except (EOFError, OSError):
            return


# --- the caller's side -----------------------------------------------------------------------

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
    """A worker process (``python -m policykg.webapp.sparql.query_worker``) and its two pipes.

    A plain subprocess rather than multiprocessing: nothing of the parent (its ``__main__``
    above all) is imported again in the child.
    """

    def __init__(self, pool: ProcessPool) -> None:
        jobs_read, jobs_write = os.pipe()
        messages_read, messages_write = os.pipe()
        command = [sys.executable, "-m", __name__, pool.role, pool.path,
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

    def send(self, job: Job) -> None:
        self.jobs.send(job)

    def receive(self, timeout: float) -> Message | None:
        try:
            return self.messages.recv() if self.messages.poll(timeout) else None
        except (EOFError, OSError):
            return ("error", 500, "the query worker died")

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

    def submit(self, job: Job, timeout: float) -> Answer:
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

    def submit(self, job: Job, timeout: float) -> Answer:
        channel = _ThreadJob()
        threading.Thread(target=self._work, args=(job, channel), daemon=True,
                         name="policykg-sparql-job").start()
        return run(channel, timeout)

    def _work(self, job: Job, channel: _ThreadJob) -> None:
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


def main(argv: list[str]) -> None:
    """``python -m policykg.webapp.sparql.query_worker reader|writer PATH JOBS_FD MESSAGES_FD``."""
    role, path, jobs_fd, messages_fd = argv
    serve = serve_writer if role == "writer" else serve_reader
    serve(Connection(int(jobs_fd), writable=False), Connection(int(messages_fd), readable=False),
          path)


if __name__ == "__main__":
    # Run the package's module, not __main__: the classes it sends back must unpickle as
    # policykg.webapp.sparql.query_worker.Head in the parent.
    from policykg.webapp.sparql import query_worker
    query_worker.main(sys.argv[1:])
