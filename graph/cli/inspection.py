"""Commands that read the store or look after it: ``query``, ``export``, ``stats``,
``rejected``, ``validate``, ``compact``."""

from __future__ import annotations

import csv
import json
import sys
from contextlib import nullcontext
from typing import IO, cast

import click
import pyoxigraph as ox

from policykg.graph.cli.group import main
from policykg.graph.cli.progress import CountingWriter, progress_bar, settle, shown
from policykg.graph.config import Settings
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.rdf.namespaces import prefixed
from policykg.graph.rdf.queries import STORE_QUERIES
from policykg.graph.rdf.sparql_errors import explain
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.indexing import in_step
from policykg.graph.store import (
    EXPORT_FORMATS,
    GraphStore,
    is_embedded,
    open_store,
)


@main.command()
@click.argument("sparql")
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@click.pass_obj
def query(settings: Settings, sparql: str, output: str) -> None:
    """Run a SPARQL query over the union of all graphs."""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        try:
            result = store.query(sparql)
        except SyntaxError as error:
            raise click.UsageError(f"SPARQL syntax error, {explain(sparql, str(error))}"
                                   ) from error
        _print_result(result, output)


def _print_result(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples,
                  output: str, short_names: bool = False) -> None:
    if isinstance(result, ox.QueryBoolean):
        if output == "json":  # the SPARQL JSON results of a boolean
            sparql_json = result.serialize(format=ox.QueryResultsFormat.JSON)
            assert sparql_json is not None  # no output given: the bytes are returned
            click.echo(sparql_json.decode("utf-8"))
        else:
            click.echo("true" if bool(result) else "false")
        return
    if isinstance(result, ox.QueryTriples):
        ox.serialize(result, sys.stdout.buffer, ox.RdfFormat.TURTLE)
        return
    names = [variable.value for variable in result.variables]
    rows = [[_text(solution[name], short_names) for name in names] for solution in result]
    _print_rows(names, rows, output)


def _text(term: object, short_names: bool = False) -> str:
    """A term's value; an IRI as a prefixed name when ``short_names``."""
    if short_names and isinstance(term, ox.NamedNode):
        return prefixed(term.value)
    return "" if term is None else getattr(term, "value", str(term))


def _print_rows(names: list[str], rows: list[list[str]], output: str) -> None:
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(rows)
    elif output == "json":
        click.echo(json.dumps([dict(zip(names, row, strict=True)) for row in rows],
                              ensure_ascii=False, indent=1))
    else:
        widths = [max([len(n)] + [len(r[i][:80]) for r in rows]) for i, n in enumerate(names)]
        click.echo("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
        for row in rows:
            click.echo("  ".join(v[:80].ljust(w) for v, w in zip(row, widths, strict=True)))
        click.echo(f"({len(rows)} rows)")


@main.command()
@click.option("--format", "output", type=click.Choice(sorted(EXPORT_FORMATS)), default="nq",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="A file [standard output].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def export(settings: Settings, output: str, out: str | None, quiet: bool) -> None:
    """Write the whole graph: N-Quads or TriG with its named graphs, Turtle as their union."""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        total = _quad_count(store) if shown(quiet) else None
        with progress_bar(total, quiet, " quads") as bar, \
                open(out, "wb") if out else nullcontext(sys.stdout.buffer) as handle:
            store.dump(cast(IO[bytes], CountingWriter(handle, bar)), output)
            settle(bar)


def _quad_count(store: GraphStore) -> int:
    result = store.query(STORE_QUERIES.text("count-quads.rq"))
    assert isinstance(result, ox.QuerySolutions)  # a SELECT
    row = next(iter(result), None)
    quads = row["quads"] if row is not None else None
    return int(quads.value) if isinstance(quads, ox.Literal) else 0


@main.command()
@click.pass_obj
def stats(settings: Settings) -> None:
    """Counts of things per class and of graphs and triples per kind of graph."""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        for name in ("stats-classes.rq", "stats-graphs.rq"):
            _print_result(store.query(_stats_query(name)), "table", short_names=True)
            click.echo()
        index = store.text_index()
        state = "in step with the store" if in_step(store, Uris(settings.base)) else (
            "OUT OF STEP with the store: policykg reindex rebuilds it")
        size = f", {index.size() / 1e6:.1f} MB on disk" if index.size() else ""
        click.echo(f"text index: {index.count()} publications{size}, {state}")


def _stats_query(name: str) -> str:
    return STORE_QUERIES.text(name)


@main.command()
@click.pass_obj
def rejected(settings: Settings) -> None:
    """What was quarantined and why: record, field, value, message."""
    quarantine = Quarantine(settings.quarantine_dir)
    count = 0
    for rejection in quarantine:
        count += 1
        for line in rejection.lines():
            click.echo(line)
    click.echo(f"{count} rejected record(s) in {settings.quarantine_dir}")


@main.command()
@click.pass_obj
def compact(settings: Settings) -> None:
    """Compact the embedded store's indexes after a load, so that reads (the served pages and
    queries) do not look through the many small files a load leaves. Servers may keep
    running; a load may not run meanwhile."""
    if not is_embedded(settings.store_location):
        raise click.UsageError("compact is for the embedded store; a remote store compacts itself")
    with open_store(settings.store_location) as store:
        seconds = store.compact()
    click.echo(f"store compacted in {seconds:.1f} s")


@main.command(name="validate")
@click.option("--format", "output", type=click.Choice(["text", "ttl"]), default="text",
              show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def validate_command(settings: Settings, output: str, quiet: bool) -> None:
    """Validate every record in the store against the shapes, in batches as a load does."""
    from policykg.graph.loading.revalidate import record_count, validate_store
    from policykg.graph.mapping.rules import Mapping

    uris = Uris(settings.base)
    with open_store(settings.store_location, read_only=True, settings=settings) as store, \
            progress_bar(record_count(store, uris), quiet) as bar:
        found = validate_store(store, uris, Mapping.load(settings.mapping),
                               batch_size=settings.batch_size, report=output == "ttl",
                               progress=bar.update)
    if output == "ttl":
        click.echo(found.report.serialize(format="turtle"))
    else:
        for line in found.lines:
            click.echo(line)
        click.echo("conforms" if found.conforms else f"{len(found.lines)} problem(s)")
    sys.exit(0 if found.conforms else 1)
