"""SPARQL evaluation where a query may be stopped: in a query process (``python -m
policykg.webapp.sparql.evaluation reader|writer PATH JOBS_FD MESSAGES_FD``) or a thread, a job
in and its answer out as messages (head, data chunks, end; or an error with its HTTP status).
``executor`` runs these processes and threads for the web app.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from policykg.graph.rdf.sparql_text import has_dataset_clause
from policykg.graph.rdf.uris import DEFAULT_BASE, Uris
from policykg.graph.search.sparql import Expanded, expand_matches, mentions_matches
from policykg.graph.store import StoreError, StoreUnavailable
from policykg.graph.store.embedded import OxigraphStore
from policykg.graph.store.embedded.folder import COMPACTED_AWAY, READ_ONLY_ATTEMPTS
from policykg.webapp.sparql.safety import checked

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
class QueryJob:
    """One piece of work: a query, an update, or a query whose rows come back as values. Its
    text is read only where it runs (``execute``): checked, then parsed by the store."""

    kind: str                                  # "query", "update" or "values"
    text: str
    base_iri: str | None = None
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    formats: dict[str, str] = field(default_factory=dict)  # "select"/"ask"/"graph" -> format
    max_rows: int = 10_000
    timeout: float | None = None               # seconds (a remote store stops the job then)
    service_allow: tuple[str, ...] = ()        # endpoints a SERVICE may call
    using: tuple[str, ...] = ()                # an update's using-graph-uri
    using_named: tuple[str, ...] = ()          # and using-named-graph-uri


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
    value: list[dict[str, str | None]] | None = None  # a "values" job's rows


class Timeout(Exception):
    """The job ran out of time and its worker was stopped."""


# --- evaluation: runs in a worker process or thread -----------------------------------------

def execute(store: Any, job: QueryJob, send: Send) -> None:
    """Run a job on a store, reporting through ``send``: an error, or head, data..., end. The
    text is checked first (``safety.checked``), before any parser sees it."""
    # a store elsewhere is told the time limit; one in this process is stopped by killing it
    limit = {"timeout": job.timeout} if not store.in_process and job.timeout else {}
    try:
        text = checked(job.text, job.kind == "update", job.service_allow, job.base_iri,
                       job.using, job.using_named)
        if job.kind == "update":
            from policykg.graph.loading.updates import after_update  # the writer's only

            store.update(text, base_iri=job.base_iri, **limit)
            after_update(store, Uris(job.base_iri or DEFAULT_BASE), text)
            send(("end",))
        elif job.kind == "values":
            send(("value", _values(store.query(text, **_options(job, text), **limit))))
        else:
            expanded = Expanded(text)
            if mentions_matches(text):
                expanded = expand_matches(text, store.text_index().sparql_pattern)
            _answer_query(store.query(expanded.text, **_options(job, expanded.text), **limit,
                                      **expanded.store_options()), job, send)
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


def _options(job: QueryJob, text: str) -> dict[str, Any]:
    """pyoxigraph's query options: the union of all graphs as default graph unless the query
    or the protocol names a dataset."""
    options: dict[str, Any] = {"base_iri": job.base_iri}
    if job.default_graph is not None:
        options["default_graph"] = [ox.NamedNode(iri) for iri in job.default_graph]
    if job.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(iri) for iri in job.named_graphs]
    options["use_default_graph_as_union"] = (
        job.default_graph is None and job.named_graphs is None and not has_dataset_clause(text))
    return options


def _values(result: Any) -> list[dict[str, str | None]]:
    names = [variable.value for variable in result.variables]
    return [{n: None if s[n] is None else s[n].value for n in names} for s in result]


def _form(result: Any) -> str:
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph" if isinstance(result, ox.QueryTriples) else "select"


def _answer_query(result: Any, job: QueryJob, send: Send) -> None:
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
    # pyoxigraph's stubs want a typing.IO; it only calls write() of what it is given
    if form == "graph":
        _stream(lambda out: ox.serialize(items, out, GRAPH_FORMATS[key]),  # type: ignore[arg-type]
                send)
    else:
        solutions = _solutions(result.variables, items)
        _stream(lambda out: solutions.serialize(out, RESULT_FORMATS[key]),  # type: ignore[arg-type]
                send)


def _solutions(variables: list[ox.Variable], rows: list[ox.QuerySolution]) -> ox.QuerySolutions:
    """The kept rows as a QuerySolutions again, for pyoxigraph's serialisers (via TSV)."""
    lines = ["\t".join(str(variable) for variable in variables)]
    lines += ["\t".join(_term(row[variable]) for variable in variables) for row in rows]
    text = "\n".join(lines) + "\n"
    solutions = ox.parse_query_results(text.encode("utf-8"), ox.QueryResultsFormat.TSV)
    assert isinstance(solutions, ox.QuerySolutions)  # a TSV head of variables
    return solutions


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


def _stream(serialize: Callable[[_ChunkWriter], object], send: Send) -> None:
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


def _execute_following(reader: OxigraphStore, job: QueryJob, send: Send) -> None:
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


def _jobs(jobs: Connection) -> Iterator[QueryJob]:
    while True:
        try:
            yield jobs.recv()
        except (EOFError, OSError):
            return


def main(argv: list[str]) -> None:
    """``python -m policykg.webapp.sparql.evaluation reader|writer PATH JOBS_FD MESSAGES_FD``."""
    role, path, jobs_fd, messages_fd = argv
    serve = serve_writer if role == "writer" else serve_reader
    serve(Connection(int(jobs_fd), writable=False), Connection(int(messages_fd), readable=False),
          path)


if __name__ == "__main__":
    # Run the package's module, not __main__: the classes it sends back must unpickle as
    # policykg.webapp.sparql.evaluation.Head in the parent.
    from policykg.webapp.sparql import evaluation
    evaluation.main(sys.argv[1:])
