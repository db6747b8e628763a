"""A store reached over HTTP: SPARQL 1.1 Query, SPARQL 1.1 Update and the Graph Store Protocol.

    store = open_store("sparql+http://127.0.0.1:8890/sparql", settings=settings)

It implements the GraphStore interface (``GraphStore``) so that loading, the web app
and the command line behave as over the embedded Oxigraph store:

- queries see the union of all graphs as their default graph; pyoxigraph's query options
  (``substitutions``, ``default_graph``, ``named_graphs``, ``base_iri``, ``prefixes``) are
  written into the query text (``policykg.graph.rdf.sparql_text``);
  results come back as pyoxigraph objects (QuerySolutions, QueryBoolean, QueryTriples), parsed
  from the store's answer as it streams in. A query is first parsed by pyoxigraph, so a syntax
  error reads the same on both stores and nothing but SPARQL 1.1 reaches the store;
- writes are batched: ``replace`` removes graphs with one SPARQL Update per few hundred graphs,
  then sends the quads as N-Quads chunks to Virtuoso's own loader, or graph by graph with the
  Graph Store Protocol to any other store. Never one request per triple or per record;
- every request has a time limit (``store_timeout``, or the caller's); an unreachable or slow
  store raises ``StoreUnavailable`` / ``StoreTimeout`` (the web app answers 503 and recovers
  when the store is back: nothing is cached but the HTTP connections);
- credentials are sent only to the update and Graph Store endpoints (queries run as the store's
  anonymous, read-only user) and appear in no message, log line or ``repr``.

Virtuoso deviates from the SPARQL protocols in ways this module absorbs (see virtuoso.toml and
``VirtuosoDialect``): its default graph also holds its own system graphs (made private once,
``virtuoso_setup_sql``, so that the anonymous user queries run as does not see them; its
``input:*-graph-exclude`` pragmas would break ``GRAPH <iri>`` patterns); ``STRSTARTS(x, "")``
is false; blank nodes come back as ``nodeID://b123``; its TSV is not SPARQL TSV (JSON is read
instead); ``LIMIT``/``OFFSET`` without ``ORDER BY`` gives pages that overlap; it has no unnamed
default graph for updates; ``DROP GRAPH`` fails on a graph it did not see created and
``CLEAR ALL`` / ``DROP ALL`` clear nothing; it caps result rows (``ResultSetMaxRows``) and
answers a query that ran out of time with partial results (``X-SQL-State: S1TAT``), which are
refused here; its SPARQL Update is slow (it compiles INSERT DATA to SQL), so quads go to its
N-Quads loader instead.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from itertools import islice
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

import httpx2 as httpx
import pyoxigraph as ox
import urllib3

from policykg.graph.rdf.sparql_text import (
    EMPTY_GRAPH,
    body_index,
    has_dataset_clause,
    operations,
    tokens,
    with_dataset,
    with_ordered_pages,
    with_values,
)
from policykg.graph.store.embedded import (
    CONTENT_HASH,
    EXPORT_FORMATS,
    SOURCE_IDENTIFIER,
    StoreError,
    StoreTimeout,
    StoreUnavailable,
)

log = logging.getLogger("policykg.store")

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
FORM = "application/x-www-form-urlencoded"
REMOVE_CHUNK = 500       # graphs removed per SPARQL Update
DUMP_GRAPHS = 200        # graphs read per request by quads() and dump()
DUMP_CHUNK = 5_000       # quads serialised at a time by dump()
ERROR_TEXT = 300         # characters of a store's error message passed on
EAGER_BYTES = 1 << 20    # answers up to this size are read whole (Virtuoso says its length)
CHUNK = 64 * 1024        # bytes read at a time from a streamed answer
_SERVICE = re.compile(r"(?i)\bservice\b")
_LOAD = re.compile(r"(?i)\bload\b")
_SCRATCH = ox.Store()    # parses queries (empty: evaluating nothing) for their syntax and form


@cache
def virtuoso_profile() -> dict[str, Any]:
    """What policykg knows of Virtuoso (graph/data/virtuoso.toml)."""
    text = (files("policykg.graph") / "data" / "virtuoso.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


# --- configuration -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoints:
    """Where a remote store answers, as whom, and how long a request may take."""

    query: str
    update: str
    graph_store: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "digest"
    timeout: float = 60.0
    write: str = "auto"          # auto (Virtuoso's loader on Virtuoso, else GSP), virtuoso, gsp
    page_size: int = 10_000

    @property
    def host(self) -> str:
        """The store's host and port, the only part of its address messages show."""
        return urlsplit(self.query).netloc.rsplit("@", 1)[-1]


def parse_location(location: str) -> str:
    """The query endpoint URL of a ``sparql+http(s)://`` location (no credentials in it)."""
    url = location.removeprefix("sparql+")
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValueError("the store address must not hold credentials: give them as the "
                         "settings store_user and store_password (POLICYKG_STORE_PASSWORD)")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("a remote store is sparql+http://HOST:PORT/PATH (or sparql+https://)")
    return url


def _password(settings: Any) -> str | None:
    if settings.store_password:
        return settings.store_password
    if settings.store_password_file:
        with open(settings.store_password_file, encoding="utf-8") as handle:
            return handle.read().strip()
    return None


# --- HTTP: queries ------------------------------------------------------------------------------
#
# Queries, the web app's hot path, go over urllib3's pool of keep-alive connections (one pool per
# process: a forked worker makes its own): ~0.45 ms of CPU a request against ~0.9 ms through
# httpx, whose request and response models cost more than the exchange itself. They carry no
# credentials. Writes, which do (digest authentication) and send multipart uploads, go over
# httpx (``_Writer``): they are few and large.

IDLE_CONNECTIONS = 16    # kept-alive query connections a process keeps for reuse


class _Reader:
    """Query requests on a urllib3 pool of kept-alive connections to the query endpoint. The
    pool replaces a kept connection the store has closed before using it; a connection closed
    while a request was on its way (no answer at all) gets the query once more, on a new
    connection (a query changes nothing); a time-out is never retried."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.url = endpoints.query
        parts = urlsplit(endpoints.query)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host = endpoints.host
        self._pool: urllib3.HTTPConnectionPool | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def request(self, method: str, fields: dict[str, str], accept: str,
                timeout: float) -> _Reply:
        """Send a query (GET: the fields in the URL; POST: as a form) and read the answer's
        status line and headers; StoreTimeout / StoreUnavailable when the store does not
        answer (never naming more of it than its host)."""
        headers = {"Accept": accept, "User-Agent": "policykg"}
        form = urlencode(fields)
        target, body = self.target, None
        if method == "GET":
            target = f"{target}{'&' if '?' in target else '?'}{form}"
        else:
            body = form.encode("ascii")
            headers["Content-Type"] = FORM
        limits = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        for attempt in (1, 2):
            try:
                return _Reply(self._get().urlopen(
                    method, target, body=body, headers=headers, timeout=limits, retries=False,
                    redirect=False, preload_content=False))
            except urllib3.exceptions.NewConnectionError as error:
                raise StoreUnavailable(f"the store at {self.host} is not reachable "
                                       f"({_reason(error)})") from None
            except urllib3.exceptions.TimeoutError:
                raise StoreTimeout(f"the store at {self.host} did not answer within "
                                   f"{timeout:g} s") from None
            except urllib3.exceptions.HTTPError as error:
                if attempt == 1 and isinstance(error, urllib3.exceptions.ProtocolError):
                    continue  # closed under the request, without an answer: once more, anew
                raise StoreUnavailable(f"the store at {self.host} is not reachable "
                                       f"({_reason(error)})") from None
        raise AssertionError("unreachable")

    def _get(self) -> urllib3.HTTPConnectionPool:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():  # forked: not the parent's
                self._pool = urllib3.connection_from_url(self.url, maxsize=IDLE_CONNECTIONS,
                                                         block=False)
                self._pid = os.getpid()
            return self._pool

    def close(self) -> None:
        """Close the idle connections (those in use close when their answer is read)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()


class _Reply:
    """The store's answer to a query: status, headers, then the body, read whole or in chunks.
    Read to its end, its connection goes back to the pool; closed before, it is closed."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.response = response
        self.status_code = response.status
        self._open = True

    def header(self, name: str) -> str:
        return self.response.headers.get(name) or ""

    def read(self, size: int = -1) -> bytes:
        """The rest of the body (``size`` bytes at most: b"" at its end)."""
        try:
            data = self.response.read(None if size < 0 else size)
        except urllib3.exceptions.TimeoutError:
            self.close()
            raise StoreTimeout("the store stopped sending its answer") from None
        except urllib3.exceptions.HTTPError as error:
            self.close()
            raise StoreUnavailable(f"reading the store's answer failed ({_reason(error)})") \
                from None
        if size < 0 or not data:
            self._release()
        return data

    def text(self) -> str:
        """The body as text (an error message), or "" when it cannot be read."""
        try:
            return self.read().decode("utf-8")
        except (StoreError, UnicodeDecodeError):
            return ""

    def _release(self) -> None:
        if self._open:
            self._open = False
            self.response.release_conn()

    def close(self) -> None:
        """Drop the answer: its connection, unless it was read to its end, is closed."""
        if self._open:
            self._open = False
            self.response.close()
            self.response.release_conn()


# --- HTTP: writes ------------------------------------------------------------------------------

class _Writer:
    """Writes (updates, Virtuoso's loader, the Graph Store Protocol): one httpx client per
    process (a forked worker makes its own), with the credentials attached."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._client: httpx.Client | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                # identity: Virtuoso gzips when asked to, and then closes every connection
                self._client = httpx.Client(trust_env=False, follow_redirects=False,
                                            headers={"User-Agent": "policykg",
                                                     "Accept-Encoding": "identity"})
                self._pid = os.getpid()
            return self._client

    def auth(self) -> httpx.Auth | None:
        endpoints = self.endpoints
        if endpoints.user is None:
            return None
        password = endpoints.password or ""
        if endpoints.auth == "basic":
            return httpx.BasicAuth(endpoints.user, password)
        return httpx.DigestAuth(endpoints.user, password)

    def send(self, method: str, url: str, *, timeout: float, what: str,
             **arguments: Any) -> None:
        """One write, its failures turned into StoreUnavailable / StoreTimeout (never naming
        more of the store than its host) and its refusals into errors (``_check``)."""
        client = self.get()
        limit = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        request = client.build_request(method, url, timeout=limit, **arguments)
        try:
            response = client.send(request, auth=self._auth)
        except httpx.TimeoutException:
            raise StoreTimeout(f"the store at {self.endpoints.host} did not answer within "
                               f"{timeout:g} s") from None
        except httpx.TransportError as error:
            raise StoreUnavailable(f"the store at {self.endpoints.host} is not reachable "
                                   f"({_reason(error)})") from None
        _check(response.status_code, response.text, self.endpoints.host, what)

    @property
    def _auth(self) -> httpx.Auth | None:
        auth = getattr(self, "_cached_auth", None)
        if auth is None:
            auth = self._cached_auth = self.auth()
        return auth

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None


def _reason(error: Exception) -> str:
    """A transport error in a few words, without addresses."""
    names = {urllib3.exceptions.NameResolutionError: "its host name is not known",
             httpx.ConnectError: "connection refused or failed",
             urllib3.exceptions.NewConnectionError: "connection refused or failed",
             httpx.RemoteProtocolError: "it closed the connection",
             urllib3.exceptions.ProtocolError: "it closed the connection",
             httpx.ReadError: "reading its answer failed", httpx.WriteError: "sending failed"}
    for kind, text in names.items():
        if isinstance(error, kind):
            return text
    return type(error).__name__


def _check(status: int, body: str | Any, host: str, what: str) -> None:
    """Raise for an answer that is not a success: 401/403 (credentials), 5xx, 4xx. ``body``
    is the answer's text, or a callable reading it (read only for a failure)."""
    if status < 300:
        return
    text = _error_text(body() if callable(body) else body)
    if status in (401, 403):
        raise StoreError(f"the store at {host} refused the credentials for {what} "
                         f"(HTTP {status}): check store_user and store_password")
    if status == 503:
        raise StoreUnavailable(f"the store at {host} is unavailable (HTTP 503)")
    if "estimated execution time" in text or "Transaction timed out" in text:
        raise StoreTimeout(f"the store at {host} stopped the {what}: {text}")
    if 400 <= status < 500:
        raise ValueError(f"the store at {host} refused the {what} (HTTP {status}): {text}")
    raise StoreError(f"the store at {host} failed the {what} (HTTP {status}): {text}")


def _error_text(text: str) -> str:
    """The store's error message, short: up to the query it quotes back."""
    text = re.split(r"\n\s*SPARQL (query|request):", text, maxsplit=1)[0]
    text = re.sub(r"<[^>]+>", " ", text) if "<html" in text.lower() else text
    return " ".join(text.split())[:ERROR_TEXT]


class _Body(io.RawIOBase):
    """A streamed answer as a binary file for pyoxigraph's parsers, with an optional rewrite of
    a byte pattern (found whole across chunk boundaries); the answer is closed when read to its
    end (its connection reused), or when the file is closed or dropped (a parse abandoned)."""

    def __init__(self, reply: _Reply, pattern: bytes | None = None,
                 replacement: bytes = b"") -> None:
        super().__init__()
        self.reply = reply
        self.pending = b""
        self.carry = b""
        self.pattern = pattern
        self.replacement = replacement
        self.finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending and not self.finished:
            self._fill()
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def _fill(self) -> None:
        chunk = self.reply.read(CHUNK)
        if not chunk:
            self.finished = True
            self.reply.close()
        if self.pattern is None:
            self.pending += chunk
            return
        raw = self.carry + chunk
        width = len(self.pattern)
        cut = len(raw) if self.finished else max(0, len(raw) - width + 1)
        straddling = raw.find(self.pattern, max(0, cut - width + 1))
        if 0 <= straddling < cut:
            cut = straddling + width
        self.pending += raw[:cut].replace(self.pattern, self.replacement)
        self.carry = raw[cut:]

    def close(self) -> None:
        if not self.closed:
            self.reply.close()
        super().close()


# --- dialects ----------------------------------------------------------------------------------

class Dialect:
    """Standard SPARQL 1.1: the store's own default graph is the union of its graphs."""

    name = "sparql11"
    default_graph: str | None = None      # the IRI standing for the default graph, if any
    bnode_pattern: bytes | None = None    # what to strip from blank node ids in JSON results
    system_graphs: tuple[str, ...] = ()   # graphs of the store itself, never policykg's

    def rewrite_update(self, text: str) -> str:
        """An update as this store must read it to do what SPARQL 1.1 says."""
        return text

    def blank(self, label: str) -> str:
        """A blank node of the store, written in a query (where blank nodes are variables)."""
        raise ValueError("a blank node cannot be bound in a query to this store")

    def query_parameters(self, timeout: float) -> dict[str, str]:
        """Extra parameters of a query request."""
        return {}


class VirtuosoDialect(Dialect):
    """Virtuoso Open Source 7: see graph/data/virtuoso.toml."""

    name = "virtuoso"
    bnode_pattern = b'"bnode", "value": "nodeID://'

    def __init__(self) -> None:
        profile = virtuoso_profile()
        self.system_graphs = tuple(profile["system_graphs"])
        self.default_graph = profile["default_graph"]

    def rewrite_update(self, text: str) -> str:
        """CLEAR/DROP ALL, NAMED, DEFAULT, DROP GRAPH, and INSERT/DELETE DATA of triples
        outside GRAPH, as SPARQL 1.1 defines them (Virtuoso has no unnamed default graph)."""
        return " ;\n".join(self._operation(text, start, end, found)
                            for start, end, found in operations(text) if found)

    def _operation(self, text: str, start: int, end: int, found: list) -> str:
        body = body_index(found)
        if body >= len(found):
            return text[start:end]
        prologue = text[start:found[body].start]
        words = [t.word for t in found[body:] if t.word != "SILENT"]
        keep = " && ".join(f"?g != <{g}>" for g in self.system_graphs) or "true"
        if words[0] in ("CLEAR", "DROP") and words[1:] in (["ALL"], ["NAMED"]):
            if words[1] == "NAMED":
                keep += f" && ?g != <{self.default_graph}>"
            return (prologue + "DELETE { GRAPH ?g { ?s ?p ?o } } "
                    f"WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER({keep}) }}")
        if words[0] in ("CLEAR", "DROP") and words[1:] == ["DEFAULT"]:
            return prologue + f"CLEAR SILENT GRAPH <{self.default_graph}>"
        if words[:2] == ["DROP", "GRAPH"]:
            return f"{prologue}DROP SILENT GRAPH {text[found[-1].start:end]}"
        if words[:2] in (["INSERT", "DATA"], ["DELETE", "DATA"]):
            return self._data(text, start, end, found, body)
        return text[start:end]

    def _data(self, text: str, start: int, end: int, found: list, body: int) -> str:
        """INSERT/DELETE DATA with the triples outside GRAPH put in the default graph."""
        opening = next(i for i in range(body, len(found)) if found[i].word == "{")
        closing = _closing(found, opening)
        triples, graphs, index = [], [], opening + 1
        piece = found[index].start
        while index < closing:
            if found[index].word == "GRAPH":
                triples.append(text[piece:found[index].start])
                block = _closing(found, index + 2)
                graphs.append(text[found[index].start:found[block].end])
                index = block + 1
                piece = found[index].start if index < closing else found[closing].start
                continue
            index += 1
        triples.append(text[piece:found[closing].start])
        kept = [t.strip().rstrip(".").strip() for t in triples]
        kept = [t for t in kept if t]
        if not kept:
            return text[start:end]
        default = f"GRAPH <{self.default_graph}> {{ {' . '.join(kept)} }}"
        return (text[start:found[opening].end] + f" {default} " + " ".join(graphs)
                + " " + text[found[closing].start:end])

    def blank(self, label: str) -> str:
        return f"<nodeID://{label}>"

    def query_parameters(self, timeout: float) -> dict[str, str]:
        return {"timeout": str(int(timeout * 1000))}


def _closing(found: list, index: int) -> int:
    """The index of the '}' closing the '{' at ``index``."""
    depth = 0
    for position in range(index, len(found)):
        if found[position].word == "{":
            depth += 1
        elif found[position].word == "}":
            depth -= 1
            if depth == 0:
                return position
    raise ValueError("unbalanced braces in the update")


def virtuoso_setup_sql() -> str:
    """The SQL (for isql-vt, as dba) that readies a Virtuoso for policykg: its system graphs
    private, so that queries (run as the anonymous user) see policykg's graphs only."""
    group = "http://www.openlinksw.com/schemas/virtrdf#PrivateGraphs"
    lines = [f"DB.DBA.RDF_GRAPH_GROUP_CREATE ('{group}', 1);"]
    lines += [f"DB.DBA.RDF_GRAPH_GROUP_INS ('{group}', '{graph}');"
              for graph in virtuoso_profile()["system_graphs"]]
    lines += ["DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 1, 0);",
              "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0, 1);"]
    return "\n".join(lines) + "\n"


# --- the store ---------------------------------------------------------------------------------

class RemoteStore:
    """The GraphStore over a SPARQL 1.1 store on the network (see the module's notes)."""

    remote = True

    def __init__(self, endpoints: Endpoints, read_only: bool = False,
                 timeout: float | None = None) -> None:
        self.endpoints = endpoints
        self.read_only = read_only
        self.timeout = timeout or endpoints.timeout
        self._reader = _Reader(endpoints)
        self._writer = _Writer(endpoints)
        self._dialect: Dialect | None = None
        self._warned_cap = False
        self.path = None

    @classmethod
    def from_settings(cls, location: str, settings: Any = None,
                      read_only: bool = False) -> RemoteStore:
        """A store for ``sparql+http://...`` with the remote-store settings (store_*)."""
        from policykg.graph.config import Settings

        settings = settings or Settings()
        query = parse_location(location)
        endpoints = Endpoints(
            query=query, update=settings.store_update_url or query,
            graph_store=settings.store_graph_store_url, user=settings.store_user,
            password=_password(settings), auth=settings.store_auth,
            timeout=settings.store_timeout, write=settings.store_write,
            page_size=settings.store_page_size)
        return cls(endpoints, read_only=read_only)

    def __repr__(self) -> str:
        return f"RemoteStore({self.location!r}, read_only={self.read_only})"

    @property
    def location(self) -> str:
        """The store's address as configured, credentials aside (for messages)."""
        return "sparql+" + self.endpoints.query

    def bounded(self, timeout: float) -> RemoteStore:
        """The same store, its requests limited to ``timeout`` seconds (the same connections)."""
        other = RemoteStore.__new__(RemoteStore)
        other.__dict__.update(self.__dict__)
        other.timeout = timeout
        return other

    def writable(self) -> RemoteStore:
        """The same store, allowed to write (the web app's update endpoint)."""
        other = self.bounded(self.timeout)
        other.read_only = False
        return other

    # --- reaching the store ------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        """How this store speaks, found from its Server header at the first request."""
        if self._dialect is None:
            reply = self._reader.request("GET", {"query": "ASK {}"}, JSON_RESULTS, self.timeout)
            _check(reply.status_code, reply.text, self.endpoints.host, "query")
            reply.read()
            server = reply.header("Server")
            self._dialect = VirtuosoDialect() if server.startswith("Virtuoso") else Dialect()
            if self._dialect.system_graphs and self._sees_system_graphs():
                log.warning("the store at %s shows its own system graphs to queries, which then "
                            "count them too: make them private (README, policykg.graph."
                            "remote_store.virtuoso_setup_sql)", self.endpoints.host)
        return self._dialect

    def _sees_system_graphs(self) -> bool:
        graph = self._dialect.system_graphs[0]
        text = f"ASK {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}"
        reply = self._reader.request("GET", {"query": text}, JSON_RESULTS, self.timeout)
        _check(reply.status_code, reply.text, self.endpoints.host, "query")
        return bool(ox.parse_query_results(reply.read(), ox.QueryResultsFormat.JSON))

    def _send_query(self, text: str, form: str, timeout: float) -> _Reply:
        accept = N_TRIPLES if form == "graph" else JSON_RESULTS
        fields = {"query": text, **self.dialect.query_parameters(timeout)}
        try:
            response = self._reader.request("POST", fields, accept, timeout + 1.0)
        except StoreTimeout:
            raise StoreTimeout(f"the query took longer than the limit of {timeout:g} s on the "
                               f"store at {self.endpoints.host}") from None
        _check(response.status_code, response.text, self.endpoints.host, "query")
        capped = response.header("X-SPARQL-MaxRows")
        if capped and not self._warned_cap:
            self._warned_cap = True
            log.warning("the store at %s cut a result at %s rows (Virtuoso's ResultSetMaxRows): "
                        "raise it above policykg's max_rows and any result policykg reads "
                        "whole", self.endpoints.host, capped)
        if response.header("X-SQL-State") == "S1TAT":
            response.close()
            raise StoreTimeout(f"the query took longer than the limit of {timeout:g} s on the "
                               f"store at {self.endpoints.host}")
        return response

    def _update(self, text: str, timeout: float | None = None) -> None:
        timeout = timeout or self.timeout
        self._writer.send("POST", self.endpoints.update, timeout=timeout, what="update",
                          data={"update": text}, headers={"Accept": JSON_RESULTS + ", */*;q=0.1"})

    # --- queries ----------------------------------------------------------------------------

    def query(self, sparql: str, *, base_iri: str | None = None,
              prefixes: dict[str, str] | None = None, use_default_graph_as_union: bool = True,
              default_graph: Any = None, named_graphs: Any = None,
              substitutions: dict[ox.Variable, Any] | None = None,
              timeout: float | None = None) -> Any:
        """Run a query over the union of all graphs; pyoxigraph result types, as OxigraphStore
        (``substitutions``, ``default_graph``, ``named_graphs`` as pyoxigraph has them). A
        query with its own FROM keeps it (the embedded store wants
        ``use_default_graph_as_union=False`` for that)."""
        form = query_form(sparql, base_iri, prefixes)
        text = self.prepared(sparql, base_iri=base_iri, prefixes=prefixes,
                             use_default_graph_as_union=use_default_graph_as_union,
                             default_graph=default_graph, named_graphs=named_graphs,
                             substitutions=substitutions)
        response = self._send_query(text, form, timeout or self.timeout)
        return self._result(response, form)

    def prepared(self, sparql: str, *, base_iri: str | None = None,
                 prefixes: dict[str, str] | None = None,
                 use_default_graph_as_union: bool = True, default_graph: Any = None,
                 named_graphs: Any = None,
                 substitutions: dict[ox.Variable, Any] | None = None) -> str:
        """The text ``query`` sends the store for these options (its options written in)."""
        text = self._rewrite(with_ordered_pages(sparql), substitutions, default_graph,
                             named_graphs, use_default_graph_as_union)
        prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in (prefixes or {}).items())
        if base_iri:
            prologue = f"BASE <{base_iri}>\n" + prologue
        return prologue + text

    def _rewrite(self, text: str, substitutions: dict[ox.Variable, Any] | None,
                 default_graph: Any, named_graphs: Any, union: bool) -> str:
        if substitutions:
            text = with_values(text, {v.value: self._term(t) for v, t in substitutions.items()})
        if default_graph is not None or named_graphs is not None:
            default = [self._graph_iri(g) for g in _as_list(default_graph)]
            named = [self._graph_iri(g) for g in _as_list(named_graphs)]
            text = with_dataset(text, default, named)
        elif not union and not has_dataset_clause(text):
            text = with_dataset(text, [self.dialect.default_graph or EMPTY_GRAPH], [])
        return text

    def _term(self, term: Any) -> str:
        if isinstance(term, ox.BlankNode):
            return self.dialect.blank(term.value)
        if isinstance(term, ox.Triple):
            raise ValueError("a triple term cannot be bound in a query to a remote store")
        return str(term)

    def _graph_iri(self, graph: Any) -> str:
        if isinstance(graph, ox.DefaultGraph):
            return self.dialect.default_graph or EMPTY_GRAPH
        return graph.value

    def _result(self, response: _Reply, form: str) -> Any:
        media = response.header("Content-Type").split(";")[0].strip()
        if form == "graph":
            return _triples(self._body(response), media)
        if media not in (JSON_RESULTS, "application/json", XML_RESULTS):
            response.close()
            raise StoreError(f"the store at {self.endpoints.host} answered a query with "
                             f"{media or 'no content type'}")
        if media == XML_RESULTS:
            body = self._body(response, b"<bnode>nodeID://", b"<bnode>")
            return ox.parse_query_results(body, ox.QueryResultsFormat.XML)
        pattern = self.dialect.bnode_pattern
        body = self._body(response, pattern, b'"bnode", "value": "')
        return ox.parse_query_results(body, ox.QueryResultsFormat.JSON)

    @staticmethod
    def _body(response: _Reply, pattern: bytes | None = None,
              replacement: bytes = b"") -> IO[bytes]:
        """The answer as a file: read whole when it is small (its connection goes back to the
        pool at once), else streamed (a caller that stops early does not read the rest)."""
        length = response.header("Content-Length")
        if length.isdigit() and int(length) <= EAGER_BYTES:
            data = response.read()
            return io.BytesIO(data.replace(pattern, replacement) if pattern else data)
        return _Body(response, pattern, replacement)

    def _select_all(self, select: str, key: str) -> Iterator[ox.QuerySolution]:
        """Every row of a SELECT, in pages of ``page_size`` rows ordered by STR(?key) (keyset
        paging: each page starts after the last key seen; keys are unique)."""
        size = self.endpoints.page_size
        last: str | None = None
        while True:
            after = f"FILTER(STR(?{key}) > {_literal(last)})" if last is not None else ""
            text = select.replace("#AFTER#", after) + f" ORDER BY STR(?{key}) LIMIT {size}"
            rows = list(self.query(text))
            yield from rows
            if len(rows) < size:
                return
            last = rows[-1][key].value

    # --- the GraphStore interface -----------------------------------------------------------

    def graph_hashes(self, prefix: str) -> dict[str, str]:
        select = (f"SELECT ?g ?h WHERE {{ GRAPH ?g {{ ?s {CONTENT_HASH} ?h }} "
                  f"{_starts('g', prefix)} #AFTER# }}")
        return {row["g"].value: row["h"].value for row in self._select_all(select, "g")}

    def graph_hash(self, graph: str) -> str | None:
        text = f"SELECT ?h WHERE {{ GRAPH {_iri(graph)} {{ ?s {CONTENT_HASH} ?h }} }} LIMIT 1"
        rows = list(self.query(text))
        return rows[0]["h"].value if rows else None

    def graphs_with_source(self, source_identifier: str) -> list[str]:
        text = (f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s {SOURCE_IDENTIFIER} "
                f"{_literal(source_identifier)} }} }}")
        return sorted(row["g"].value for row in self.query(text))

    def graph_names(self, prefix: str) -> set[str]:
        # Virtuoso lists its private system graphs for DISTINCT ?g (the other queries hide
        # them): they are left out by name.
        hidden = self.dialect.system_graphs
        outside = f"FILTER(?g NOT IN ({', '.join(map(_iri, hidden))}))" if hidden else ""
        select = (f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
                  f"{_starts('g', prefix)} {outside} #AFTER# }}")
        default = self.dialect.default_graph
        return {row["g"].value for row in self._select_all(select, "g")} - {default}

    def has_graph(self, graph: str) -> bool:
        return bool(self.query(f"ASK {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}"))

    def replace(self, remove: Iterable[str], add: Iterable[ox.Quad]) -> None:
        """Remove whole graphs (one update per REMOVE_CHUNK graphs), then add the quads in
        chunks. A chunk holds whole graphs, each with its entailments graph, and graphs that
        carry a content hash (records) go last: if the store fails half-way, what was written
        is whole, and a record whose hash is in was written entirely."""
        self._writable()
        graphs = list(dict.fromkeys(remove))
        for start in range(0, len(graphs), REMOVE_CHUNK):
            values = " ".join(_iri(g) for g in graphs[start:start + REMOVE_CHUNK])
            self._update(f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ VALUES ?g "
                         f"{{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}")
        families = _families(add)
        if not families:
            return
        if self._write_mode() == "virtuoso":
            self._load_nquads(families)
        else:
            self._put_graphs(families)

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        if graph is not None:
            return self._graph_quads([graph])
        return self._all_quads()

    def _all_quads(self) -> Iterator[ox.Quad]:
        default = self.dialect.default_graph
        names = iter([*([default] if default else []), *sorted(self.graph_names(""))])
        while batch := list(islice(names, DUMP_GRAPHS)):
            yield from self._graph_quads(batch)

    def _graph_quads(self, graphs: list[str]) -> Iterator[ox.Quad]:
        """The quads of some graphs, a request per batch (split when the store caps rows)."""
        values = " ".join(_iri(g) for g in graphs)
        text = f"SELECT ?g ?s ?p ?o WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"
        rows = list(self.query(text))
        if len(rows) >= self.endpoints.page_size and len(graphs) > 1:
            middle = len(graphs) // 2
            yield from self._graph_quads(graphs[:middle])
            yield from self._graph_quads(graphs[middle:])
            return
        if len(rows) >= self.endpoints.page_size:
            raise StoreError(f"the graph {graphs[0]} has more triples than store_page_size "
                             f"({self.endpoints.page_size}) allows to read at once")
        default = self.dialect.default_graph
        for row in rows:
            name = row["g"]
            graph = ox.DefaultGraph() if name.value == default else name
            yield ox.Quad(row["s"], row["p"], row["o"], graph)

    def objects_of(self, graph: str) -> set[str]:
        text = (f"SELECT DISTINCT ?o WHERE {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} "
                "FILTER(isIRI(?o)) }")
        return {row["o"].value for row in self.query(text)}

    def is_referenced(self, iri: str, within: str) -> bool:
        return bool(self.query(f"ASK {{ GRAPH ?g {{ ?s ?p {_iri(iri)} }} "
                               f"FILTER(STRSTARTS(STR(?g), {_literal(within)})) }}"))

    def dump(self, output: IO[bytes], format: str) -> None:
        """The whole store, streamed a few thousand quads at a time."""
        rdf_format = EXPORT_FORMATS[format]
        quads = self.quads()
        if rdf_format.supports_datasets:
            while chunk := list(islice(quads, DUMP_CHUNK)):
                ox.serialize(chunk, output, rdf_format)
            return
        seen: set[int] = set()  # the union: each triple once (hashes of the triples seen)
        while chunk := list(islice(quads, DUMP_CHUNK)):
            triples = []
            for quad in chunk:
                triple = quad.triple
                key = hash(str(triple))
                if key not in seen:
                    seen.add(key)
                    triples.append(triple)
            ox.serialize(triples, output, rdf_format)

    def update(self, sparql: str, base_iri: str | None = None,
               timeout: float | None = None) -> None:
        """A SPARQL Update (the web app's update endpoint): checked by pyoxigraph first, then
        sent as the store needs to read it to do what SPARQL 1.1 says."""
        self._writable()
        check_update(sparql, base_iri)
        text = self.dialect.rewrite_update(sparql)
        prologue = f"BASE <{base_iri}>\n" if base_iri else ""
        self._update(prologue + text, timeout)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._reader.close()
        self._writer.close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise OSError("the store was opened read-only")

    def _write_mode(self) -> str:
        mode = self.endpoints.write
        if mode == "auto":
            mode = "virtuoso" if isinstance(self.dialect, VirtuosoDialect) else "gsp"
        if mode == "gsp" and not self.endpoints.graph_store:
            raise StoreError("writing by the Graph Store Protocol needs store_graph_store_url")
        return mode

    def _load_nquads(self, families: list[list[ox.Quad]]) -> None:
        """Chunks of N-Quads (whole families, at most chunk_bytes each) to Virtuoso's loader;
        a family larger than that (a tally graph) goes in pieces cut between subjects."""
        profile = virtuoso_profile()
        limit = profile["chunk_bytes"]
        query = profile["load_query"].format(default_graph=profile["default_graph"])
        chunk: list[bytes] = []
        size = 0
        for family in families:
            for data in _pieces(family, limit):
                if chunk and size + len(data) > limit:
                    self._post_nquads(query, b"".join(chunk))
                    chunk, size = [], 0
                chunk.append(data)
                size += len(data)
        if chunk:
            self._post_nquads(query, b"".join(chunk))

    def _post_nquads(self, query: str, data: bytes) -> None:
        self._writer.send(
            "POST", self.endpoints.update, timeout=self.timeout, what="load",
            data={"query": query}, files={"data": ("quads.nq", data, "application/n-quads")},
            headers={"Accept": JSON_RESULTS})

    def _put_graphs(self, families: list[list[ox.Quad]]) -> None:
        """Each graph POSTed (added to) at the Graph Store endpoint, as N-Triples."""
        for family in families:
            by_graph: dict[Any, list[ox.Triple]] = {}
            for quad in family:
                by_graph.setdefault(quad.graph_name, []).append(quad.triple)
            for graph, triples in by_graph.items():
                params = ({"default": ""} if isinstance(graph, ox.DefaultGraph)
                          else {"graph": graph.value})
                data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
                self._writer.send(
                    "POST", self.endpoints.graph_store, timeout=self.timeout,
                    what="Graph Store write", params=params, content=data,
                    headers={"Content-Type": N_TRIPLES})


def _families(quads: Iterable[ox.Quad]) -> list[list[ox.Quad]]:
    """Quads grouped by graph and its entailments graph ({base}graph/inferred/K/X goes with
    {base}graph/K/X), in order; the families holding a content hash last."""
    families: dict[str, list[ox.Quad]] = {}
    hashed: set[str] = set()
    for quad in quads:
        graph = quad.graph_name
        key = graph.value.replace("/graph/inferred/", "/graph/", 1) \
            if isinstance(graph, ox.NamedNode) else ""
        families.setdefault(key, []).append(quad)
        if quad.predicate == CONTENT_HASH:
            hashed.add(key)
    return ([f for k, f in families.items() if k not in hashed]
            + [f for k, f in families.items() if k in hashed])


def _pieces(family: list[ox.Quad], limit: int) -> Iterator[bytes]:
    """A family as N-Quads, in pieces of about ``limit`` bytes at most, cut only where the
    subject changes and no blank node of the piece so far is named again (a blank node's
    triples stay in one request: Virtuoso's loader names blank nodes per request)."""
    data = ox.serialize(family, format=ox.RdfFormat.N_QUADS)
    if len(data) <= limit:
        yield data
        return
    piece: list[ox.Quad] = []
    blanks: set[ox.BlankNode] = set()
    size = 0
    for quad in family:
        terms = {t for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)}
        if (size > limit and piece and quad.subject != piece[-1].subject
                and not terms & blanks):
            yield ox.serialize(piece, format=ox.RdfFormat.N_QUADS)
            piece, blanks, size = [], set(), 0
        piece.append(quad)
        blanks |= terms
        size += len(str(quad)) + 2
    if piece:
        yield ox.serialize(piece, format=ox.RdfFormat.N_QUADS)


def _triples(body: _Body, media: str) -> ox.QueryTriples:
    """A CONSTRUCT/DESCRIBE answer as pyoxigraph's QueryTriples (through a store in memory)."""
    formats = {N_TRIPLES: ox.RdfFormat.N_TRIPLES, "text/plain": ox.RdfFormat.N_TRIPLES,
               "text/turtle": ox.RdfFormat.TURTLE, "application/rdf+xml": ox.RdfFormat.RDF_XML}
    rdf_format = formats.get(media)
    if rdf_format is None:
        body.close()
        raise StoreError(f"the store answered a CONSTRUCT with {media or 'no content type'}")
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
                 for q in ox.parse(body, rdf_format))
    return store.query("CONSTRUCT WHERE { ?s ?p ?o }")


def query_form(sparql: str, base_iri: str | None = None,
               prefixes: dict[str, str] | None = None) -> str:
    """The form of a query (select, ask, graph), its syntax checked by pyoxigraph (SyntaxError
    as on the embedded store). A query with SERVICE is not evaluated here (it would call out):
    its form is read from its first keyword. Forms of the last queries are kept."""
    if prefixes:
        return _query_form(sparql, base_iri, tuple(sorted(prefixes.items())))
    return _query_form(sparql, base_iri, ())


@lru_cache(maxsize=1024)
def _query_form(sparql: str, base_iri: str | None,
                prefix_items: tuple[tuple[str, str], ...]) -> str:
    prefixes = dict(prefix_items) or None
    if _SERVICE.search(sparql):
        found = [t.word for t in tokens(sparql) if t.kind == "name"]
        word = next((w for w in found if w in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")), "")
        return {"SELECT": "select", "ASK": "ask"}.get(word, "graph")
    result = _SCRATCH.query(sparql, base_iri=base_iri, prefixes=prefixes,
                            use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph" if isinstance(result, ox.QueryTriples) else "select"


def check_update(sparql: str, base_iri: str | None = None) -> None:
    """Raise SyntaxError, as the embedded store would, for an update pyoxigraph cannot parse.
    (It is run on an empty store in memory, where its errors other than syntax do not matter;
    an update with LOAD or SERVICE is left to the store: it would call out.)"""
    if _SERVICE.search(sparql) or _LOAD.search(sparql):
        return
    try:
        ox.Store().update(sparql, base_iri=base_iri)
    except SyntaxError:
        raise
    except Exception:  # evaluated on an empty store: only the syntax counts
        pass


def _as_list(graphs: Any) -> list[Any]:
    if graphs is None:
        return []
    return list(graphs) if isinstance(graphs, list | tuple) else [graphs]


def _iri(iri: str) -> str:
    return str(ox.NamedNode(iri))


def _starts(variable: str, prefix: str) -> str:
    """A FILTER on the start of a variable's IRI (none for "": Virtuoso's STRSTARTS(x, "") is
    false)."""
    return f"FILTER(STRSTARTS(STR(?{variable}), {_literal(prefix)}))" if prefix else ""


def _literal(text: str) -> str:
    return str(ox.Literal(text))

