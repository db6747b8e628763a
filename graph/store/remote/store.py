"""A store reached over HTTP: SPARQL 1.1 Query, SPARQL 1.1 Update and the Graph Store Protocol.

    store = open_store("sparql+http://127.0.0.1:8890/sparql", settings=settings)

It implements the GraphStore interface (``GraphStore``) so that loading, the web app
and the command line behave as over the embedded Oxigraph store:

- queries see the union of all graphs as their default graph; pyoxigraph's query options
  (``substitutions``, ``default_graph``, ``named_graphs``, ``base_iri``, ``prefixes``) are
  written into the query text (``prepare``); results come back as pyoxigraph objects
  (QuerySolutions, QueryBoolean, QueryTriples), parsed from the store's answer as it streams
  in (``answers``). A query is first parsed by pyoxigraph, so a syntax
  error reads the same on both stores and nothing but SPARQL 1.1 reaches the store;
- writes are batched: ``replace`` removes graphs with one SPARQL Update per few hundred graphs,
  then sends the quads as N-Quads chunks to Virtuoso's own loader, or graph by graph with the
  Graph Store Protocol to any other store. Never one request per triple or per record;
- every request has a time limit (``store_timeout``, or the caller's); an unreachable or slow
  store raises ``StoreUnavailable`` / ``StoreTimeout`` (the web app answers 503 and recovers
  when the store is back: nothing is cached but the HTTP connections);
- credentials are sent only to the update and Graph Store endpoints (queries run as the store's
  anonymous, read-only user) and appear in no message, log line or ``repr``.

Virtuoso's deviations from the protocols are absorbed by its dialect (``virtuoso``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import nullcontext
from itertools import islice
from typing import IO, TYPE_CHECKING, Any

import pyoxigraph as ox

from policykg.graph.store.interface import (
    CONTENT_HASH,
    EXPORT_FORMATS,
    SOURCE_IDENTIFIER,
    StoreError,
    StoreTimeout,
    Subject,
    Term,
    WriteBatch,
    exchange_update,
)
from policykg.graph.store.remote.answers import read_answer
from policykg.graph.store.remote.prepare import prepared_text
from policykg.graph.store.remote.syntax import check_update, query_form
from policykg.graph.store.remote.transport import (
    JSON_RESULTS,
    N_TRIPLES,
    Endpoints,
    QueryClient,
    QueryReply,
    WriteClient,
    check_answer,
    parse_location,
    password_of,
)
from policykg.graph.store.remote.uploads import (
    families,
    load_into_virtuoso,
    post_graphs,
    replace_staged,
)
from policykg.graph.store.remote.virtuoso import Dialect, VirtuosoDialect

if TYPE_CHECKING:
    from policykg.graph.store.interface import GraphStore

if TYPE_CHECKING:
    from policykg.graph.search.engines.engine import TextIndex

log = logging.getLogger("policykg.store")

REMOVE_CHUNK = 500       # graphs removed per SPARQL Update
EXCHANGE_QUADS = 1_000   # quads an exchange sends in one update (more go through a staging graph)
DUMP_GRAPHS = 200        # graphs read per request by quads() and dump()
DUMP_CHUNK = 5_000       # quads serialised at a time by dump()


class RemoteStore:
    """The GraphStore over a SPARQL 1.1 store on the network (see the module's notes)."""

    in_process = False
    folder = None  # nothing of it is on this machine
    generation = None  # not followed: every read asks the store

    def __init__(self, endpoints: Endpoints, read_only: bool = False,
                 timeout: float | None = None) -> None:
        self.endpoints = endpoints
        self.read_only = read_only
        self.timeout = timeout or endpoints.timeout
        self._reader = QueryClient(endpoints)
        self._writer = WriteClient(endpoints)
        self._dialect: Dialect | None = None
        self._warned_cap = False

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
            password=password_of(settings), auth=settings.store_auth,
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
            check_answer(reply.status_code, reply.text, self.endpoints.host, "query")
            reply.read()
            server = reply.header("Server")
            self._dialect = VirtuosoDialect() if server.startswith("Virtuoso") else Dialect()
            if self._dialect.system_graphs and self._sees_system_graphs():
                log.warning("the store at %s shows its own system graphs to queries, which then "
                            "count them too: make them private (docs/operating.md, "
                            "virtuoso.virtuoso_setup_sql)", self.endpoints.host)
        return self._dialect

    def _sees_system_graphs(self) -> bool:
        assert self._dialect is not None  # asked once the dialect is found
        graph = self._dialect.system_graphs[0]
        text = f"ASK {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}"
        reply = self._reader.request("GET", {"query": text}, JSON_RESULTS, self.timeout)
        check_answer(reply.status_code, reply.text, self.endpoints.host, "query")
        return bool(ox.parse_query_results(reply.read(), ox.QueryResultsFormat.JSON))

    def _send_query(self, text: str, form: str, timeout: float) -> QueryReply:
        accept = N_TRIPLES if form == "graph" else JSON_RESULTS
        fields = {"query": text, **self.dialect.query_parameters(timeout)}
        try:
            response = self._reader.request("POST", fields, accept, timeout + 1.0)
        except StoreTimeout:
            raise StoreTimeout(f"the query took longer than the limit of {timeout:g} s on the "
                               f"store at {self.endpoints.host}") from None
        check_answer(response.status_code, response.text, self.endpoints.host, "query")
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
              timeout: float | None = None, dialect: Mapping[str, str] | None = None) -> Any:
        """Run a query over the union of all graphs; pyoxigraph result types, as OxigraphStore
        (``substitutions``, ``default_graph``, ``named_graphs`` as pyoxigraph has them). A
        query with its own FROM keeps it (the embedded store wants
        ``use_default_graph_as_union=False`` for that). ``dialect``: placeholders in the query
        and the store's own patterns sent in their place once the query is checked (the
        store's free-text search standing for ``pkg:matches``)."""
        form = query_form(sparql, base_iri, prefixes)
        text = self.prepared(sparql, base_iri=base_iri, prefixes=prefixes,
                             use_default_graph_as_union=use_default_graph_as_union,
                             default_graph=default_graph, named_graphs=named_graphs,
                             substitutions=substitutions)
        for placeholder, pattern in (dialect or {}).items():
            text = text.replace(placeholder, pattern)
        response = self._send_query(text, form, timeout or self.timeout)
        return self._result(response, form)

    def query_in_dialect(self, sparql: str, timeout: float | None = None) -> Any:
        """A SELECT in the store's own dialect (its free-text search: ``bif:contains`` ...
        ``OPTION (score ?s)``), sent as written: for queries policykg writes, never a
        client's (those are checked by pyoxigraph first, in ``query``)."""
        response = self._send_query(sparql, "select", timeout or self.timeout)
        return self._result(response, "select")

    def index_texts(self) -> None:
        """Have the store's free-text index take in the texts written (Virtuoso indexes them
        in batches otherwise; see virtuoso.toml)."""
        statement = self.dialect.index_texts
        if statement:
            self._writer.send("POST", self.endpoints.update, timeout=self.timeout,
                              what="text indexing", data={"query": statement},
                              headers={"Accept": JSON_RESULTS})

    def prepared(self, sparql: str, *, base_iri: str | None = None,
                 prefixes: dict[str, str] | None = None,
                 use_default_graph_as_union: bool = True, default_graph: Any = None,
                 named_graphs: Any = None,
                 substitutions: dict[ox.Variable, Any] | None = None) -> str:
        """The text ``query`` sends the store for these options (its options written in)."""
        return prepared_text(sparql, lambda: self.dialect, base_iri=base_iri,
                             prefixes=prefixes,
                             use_default_graph_as_union=use_default_graph_as_union,
                             default_graph=default_graph, named_graphs=named_graphs,
                             substitutions=substitutions)

    def _result(self, response: QueryReply, form: str) -> Any:
        return read_answer(response, form, self.endpoints.host, self.dialect.bnode_pattern)

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

    def any_graph(self, prefix: str) -> bool:
        return bool(self.query(f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} {_starts('g', prefix)} }}"))

    def snapshot(self) -> nullcontext[RemoteStore]:
        """Every read asks the store as it is then: there is no snapshot to pin."""
        return nullcontext(self)

    def quads_matching(self, subject: Subject | None, predicate: ox.NamedNode | None,
                       object: Term | None, graph: ox.NamedNode | None) -> Iterator[ox.Quad]:
        bound = {ox.Variable(name): term for name, term in
                 (("s", subject), ("p", predicate), ("o", object), ("g", graph))
                 if term is not None}
        rows = self.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                          substitutions=bound)
        for row in rows:
            yield ox.Quad(row["s"], row["p"], row["o"], row["g"])

    def write_batch(self, batch: WriteBatch) -> None:
        """The records in one transaction each step (``replace``), then the derived graphs
        and, once they are in, their stamps."""
        self.replace(batch.remove, [])
        for cleanup in batch.cleanups:
            self._update(cleanup)
        text = "".join(batch.records)
        if text:
            self.replace([], ox.parse(text, ox.RdfFormat.N_QUADS))
        for part in ("".join(d for d, _ in batch.derived), "".join(s for _, s in batch.derived)):
            if part:
                self.replace([], ox.parse(part, ox.RdfFormat.N_QUADS))
        self.index_texts()

    def add_derived(self, quads: Iterable[ox.Quad] | str) -> None:
        """In one transaction (``replace``): a remote store has no faster way in."""
        if isinstance(quads, str):
            quads = ox.parse(quads, ox.RdfFormat.N_QUADS)
        self.replace([], quads)
        self.index_texts()

    def remove_quads(self, quads: Iterable[ox.Quad]) -> None:
        """In updates of REMOVE_CHUNK quads each (DELETE DATA)."""
        self._writable()
        pending = iter(quads)
        while chunk := list(islice(pending, REMOVE_CHUNK)):
            body = " ".join(f"GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }}"
                            for q in chunk)
            self._update(self.dialect.rewrite_update(f"DELETE DATA {{ {body} }}"))

    def exchange(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad],
                 graph: str | None = None) -> None:
        """One SPARQL Update request: the store runs it as one transaction. A graph replaced
        by more quads than one update takes is staged first (``replace_staged``)."""
        self._writable()
        removed, added = list(removed), list(added)
        target = ox.NamedNode(graph) if graph else None
        if target and not removed and len(added) > EXCHANGE_QUADS and all(
                q.graph_name == target for q in added):
            replace_staged(lambda text: self._update(self.dialect.rewrite_update(text)),
                           target, added, EXCHANGE_QUADS)
        elif text := exchange_update(removed, added, graph):
            self._update(self.dialect.rewrite_update(text))

    def recover(self) -> int:
        """Nothing to undo: each write to a remote store is a transaction."""
        return 0

    def text_index(self) -> TextIndex:
        """The store's own free-text index, searched through SPARQL (every app server in
        front of the store searches the same)."""
        from policykg.graph.search.engines.store_index import StoreTextIndex

        return StoreTextIndex(self)

    def compact(self) -> None:
        """Nothing to do here: a remote store compacts itself."""
        return None

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
        grouped = families(add)
        if not grouped:
            return
        upload = load_into_virtuoso if self._write_mode() == "virtuoso" else post_graphs
        upload(self._writer, self.endpoints, self.timeout, grouped)

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


def _iri(iri: str) -> str:
    return str(ox.NamedNode(iri))


def _starts(variable: str, prefix: str) -> str:
    """A FILTER on the start of a variable's IRI (none for "": Virtuoso's STRSTARTS(x, "") is
    false)."""
    return f"FILTER(STRSTARTS(STR(?{variable}), {_literal(prefix)}))" if prefix else ""


def _literal(text: str) -> str:
    return str(ox.Literal(text))


def open_location(location: str, read_only: bool = False, settings: Any = None) -> RemoteStore:
    """The store of a ``sparql+http(s)://`` location, with the remote-store settings."""
    return RemoteStore.from_settings(location, settings, read_only=read_only)


if TYPE_CHECKING:
    _conforms: type[GraphStore] = RemoteStore  # mypy: the class implements the interface

