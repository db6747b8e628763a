"""The ``policykg`` command: load, query, export, stats, validate, rejected, remove, compact,
serve."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
import pyoxigraph as ox

from policykg.graph import readers
from policykg.graph.aggregates import Words
from policykg.graph.config import Settings, load_settings
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.loading.workers import WorkerLost
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.queries import STORE_QUERIES
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import (
    EXPORT_FORMATS,
    StoreError,
    StoreUnavailable,
    is_embedded,
    open_store,
)


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), help="A TOML settings file.")
@click.option("--home", help="Folder for the store, quarantine and state [policykg-data].")
@click.option("--store", help="The store: oxigraph:PATH [oxigraph:HOME/store], or a remote "
              "SPARQL store sparql+http://HOST:PORT/sparql.")
@click.option("--store-update-url", help="Remote store: its SPARQL Update endpoint [the query "
              "endpoint; Virtuoso: http://HOST:8890/sparql-auth].")
@click.option("--store-graph-store-url", help="Remote store: its Graph Store Protocol endpoint.")
@click.option("--store-user", help="Remote store: the user of updates and Graph Store writes.")
@click.option("--store-password-file", type=click.Path(exists=True, dir_okay=False),
              help="Remote store: a file holding the password (or POLICYKG_STORE_PASSWORD; "
              "never on the command line).")
@click.option("--store-timeout", type=float, help="Remote store: seconds a request may take "
              "[60].")
@click.option("--base", help="Base of every minted IRI [http://localhost:8000/].")
@click.pass_context
def main(context: click.Context, config: str | None, home: str | None, store: str | None,
         store_update_url: str | None, store_graph_store_url: str | None,
         store_user: str | None, store_password_file: str | None,
         store_timeout: float | None, base: str | None) -> None:
    """Publication records as a linked-data knowledge graph."""
    try:
        context.obj = load_settings(
            config, home=home, store=store, base=base, store_update_url=store_update_url,
            store_graph_store_url=store_graph_store_url, store_user=store_user,
            store_password_file=store_password_file, store_timeout=store_timeout)
    except (OSError, ValueError) as error:
        raise click.UsageError(str(error)) from error


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "source_format", type=click.Choice(readers.FORMATS),
              help="Read every file as this format instead of detecting it.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False),
              help="The mapping TOML of the source repository [the bundled IDB mapping].")
@click.option("--quiet", is_flag=True, help="No progress bar and no per-record messages.")
@click.pass_obj
def load(settings: Settings, paths: tuple[str, ...], source_format: str | None,
         mapping: str | None, quiet: bool) -> None:
    """Load records from files, folders or globs (any mix of formats) into the store."""
    items = (item for path in readers.iter_paths(list(paths))
             for item in readers.read(path, source_format))
    written = _Written()
    try:
        with open_store(settings.store_location, settings=settings) as store, \
                _progress(quiet) as bar:
            loader = Loader(store, Uris(settings.base),
                            Mapping.load(mapping or settings.mapping),
                            Quarantine(settings.quarantine_dir), batch_size=settings.batch_size)
            summary = loader.load(written.track(items), progress=written.counter(bar.update))
    except (StoreUnavailable, StoreError, WorkerLost) as error:
        for line in written.report(error, settings):
            click.echo(line, err=True)
        sys.exit(3)
    if not quiet:
        for message in summary.messages:
            click.echo(message, err=True)
    for line in summary.lines(settings.quarantine_dir):
        click.echo(line)
    sys.exit(1 if summary.rejected else 0)


@main.command()
@click.argument("url", required=False)
@click.option("--set", "set_spec", help="Harvest only this set (setSpec).")
@click.option("--from", "from_date", metavar="DATE",
              help="Records changed since DATE [the last harvest's datestamp].")
@click.option("--until", metavar="DATE", help="Records changed up to DATE.")
@click.option("--metadata-prefix", type=click.Choice(["dim", "oai_dc", "qdc"]), default="dim",
              show_default=True, help="The metadata format to ask for (oai_dc and qdc lose "
              "what DSpace's crosswalks drop: qualifiers, languages, idb.* fields).")
@click.option("--identifier", help="Harvest this one record (GetRecord) only.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False),
              help="The mapping TOML of the source repository [the bundled IDB mapping].")
@click.option("--status", is_flag=True, help="Show each endpoint's last run and stop.")
@click.option("--quiet", is_flag=True, help="No progress bar and no per-record messages.")
@click.pass_obj
def harvest(settings: Settings, url: str | None, set_spec: str | None, from_date: str | None,
            until: str | None, metadata_prefix: str, identifier: str | None,
            mapping: str | None, status: bool, quiet: bool) -> None:
    """Harvest an OAI-PMH endpoint (what changed since the last run) into the store.

    Exit status: 0 done, 1 done with rejected records, 2 usage error, 3 harvest stopped
    (its state is kept: the next run goes on from it), 130 interrupted."""
    from policykg.graph.harvest import harvester as harvesting
    if status:
        for line in harvesting.status_lines(settings):
            click.echo(line)
        return
    if not url:
        raise click.UsageError("give the endpoint URL (or --status)")
    try:
        target = harvesting.Target(url, set_spec, metadata_prefix)
        window = harvesting.Window(from_date, until)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    try:
        with _progress(quiet) as bar:
            result = harvesting.run_harvest(settings, target, window, mapping=mapping,
                                            identifier=identifier, progress=bar)
    except harvesting.HarvestError as error:
        done = error.result
        for message in done.summary.messages if done and not quiet else []:
            click.echo(message, err=True)
        for line in done.lines(settings.quarantine_dir) if done else []:
            click.echo(line)
        click.echo(f"harvest stopped: {error}", err=True)
        sys.exit(3)
    except KeyboardInterrupt:
        click.echo("harvest interrupted: the next run resumes it", err=True)
        sys.exit(130)
    if not quiet:
        for message in result.summary.messages:
            click.echo(message, err=True)
    for line in result.lines(settings.quarantine_dir):
        click.echo(line)
    sys.exit(1 if result.summary.rejected else 0)


class _Written:
    """Which records a load wrote before the store failed: the loader reports each batch once
    it is written, and reads the next batch only then."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.written = 0

    def track(self, items):
        for item in items:
            label = getattr(item, "label", None)
            self.read.append(str(label() if callable(label) else label or item.source_id
                                 or item.source))
            yield item

    def counter(self, update):
        def progress(count: int) -> None:
            self.written += count
            update(count)
        return progress

    def report(self, error: Exception, settings: Settings) -> list[str]:
        """What to tell the steward, and the lists of records written and not, in a file."""
        done, rest = self.read[:self.written], self.read[self.written:]
        path = Path(settings.home) / "load-interrupted.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join([f"written {r}\n" for r in done] +
                                [f"not-written {r}\n" for r in rest]), encoding="utf-8")
        lines = [f"the load stopped: {error}",
                 f"written: {len(done)} record(s)"
                 + (f", {done[0]} .. {done[-1]}" if done else ""),
                 f"not written: the batch being written when the load stopped and what "
                 f"follows, from {rest[0]} on" if rest else "not written: none",
                 f"(each record written or not is listed in {path})",
                 "run the same load again to complete it: the records written are skipped "
                 "as unchanged, the others loaded, none twice"]
        return lines


def _progress(quiet: bool):
    from tqdm import tqdm

    return tqdm(unit=" records", disable=True if quiet else None, file=sys.stderr,
                smoothing=0.1)


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
            raise click.UsageError(f"SPARQL syntax error: {error}") from error
        _print_result(result, output)


def _print_result(result: object, output: str) -> None:
    if isinstance(result, ox.QueryBoolean):
        click.echo("true" if bool(result) else "false")
        return
    if isinstance(result, ox.QueryTriples):
        ox.serialize(result, sys.stdout.buffer, ox.RdfFormat.TURTLE)
        return
    names = [variable.value for variable in result.variables]
    rows = [[_text(solution[name]) for name in names] for solution in result]
    _print_rows(names, rows, output)


def _text(term: object) -> str:
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
@click.pass_obj
def export(settings: Settings, output: str, out: str | None) -> None:
    """Write the whole graph: N-Quads or TriG with its named graphs, Turtle as their union."""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        if out:
            with open(out, "wb") as handle:
                store.dump(handle, output)
        else:
            store.dump(sys.stdout.buffer, output)


@main.command()
@click.pass_obj
def stats(settings: Settings) -> None:
    """Counts of things per class and of graphs and triples per kind of graph."""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        for name in ("stats-classes.rq", "stats-graphs.rq"):
            _print_result(store.query(_stats_query(name)), "table")
            click.echo()
        if Words.of(store) is Words.DEFAULT:
            _print_result(store.query(_stats_query("stats-default-graph.rq"),
                                      use_default_graph_as_union=False), "table")


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
@click.argument("identifiers", nargs=-1, required=True)
@click.pass_obj
def remove(settings: Settings, identifiers: tuple[str, ...]) -> None:
    """Remove publications by key (IDB-LM-00577), IRI, or source identifier (oai:...)."""
    from policykg.graph.loading.maintenance import remove_publications

    with open_store(settings.store_location, settings=settings) as store:
        removed, missing = remove_publications(store, Uris(settings.base), list(identifiers))
    for key in removed:
        click.echo(f"removed {key}")
    for identifier in missing:
        click.echo(f"not found: {identifier}", err=True)
    sys.exit(1 if missing else 0)


@main.command()
@click.pass_obj
def compact(settings: Settings) -> None:
    """Compact the embedded store's indexes after a load, so that reads (the served pages and
    queries) do not look through the many small files a load leaves. Servers may keep
    running; a load may not run meanwhile."""
    if not is_embedded(settings.store_location):
        raise click.UsageError("compact is for the embedded store; a remote store compacts itself")
    try:
        store = open_store(settings.store_location)
    except OSError as error:
        raise click.ClickException(f"the store is busy (is a load running?): {error}") from None
    with store:
        seconds = store.compact()
    click.echo(f"store compacted in {seconds:.1f} s")


@main.command(name="validate")
@click.option("--format", "output", type=click.Choice(["text", "ttl"]), default="text",
              show_default=True)
@click.pass_obj
def validate_command(settings: Settings, output: str) -> None:
    """Validate every record in the store against the shapes."""
    from policykg.graph.loading.maintenance import validate_store

    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        conforms, report, lines = validate_store(store, Uris(settings.base))
    if output == "ttl":
        click.echo(report.serialize(format="turtle"))
    else:
        for line in lines:
            click.echo(line)
        click.echo("conforms" if conforms else f"{len(lines)} problem(s)")
    sys.exit(0 if conforms else 1)


@main.command()
@click.option("--host", help="Address to listen on [settings: host, 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [settings: port, 8000].")
@click.option("--workers", type=int, help="Gunicorn worker processes [settings: workers, 2].")
@click.option("--threads", type=int, help="Threads per worker [settings: threads, 4].")
@click.option("--sample/--no-sample", default=True, show_default=True,
              help="Load the bundled sample record when the store has no publication.")
@click.option("--access-log", is_flag=True, help="Log every request to standard error.")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, workers: int | None,
          threads: int | None, sample: bool, access_log: bool) -> None:
    """Serve the SPARQL endpoint, linked data, API and dumps with gunicorn."""
    from dataclasses import replace

    from policykg.webapp import assets
    from policykg.webapp.serve import ServerOptions, prepare_store_apart
    from policykg.webapp.serve import serve as run_server

    changes = {"host": host, "port": port, "workers": workers}
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    try:
        summary = prepare_store_apart(settings, sample=sample)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
    if summary is not None:
        click.echo("loaded the bundled sample record: " + "; ".join(
            summary.lines(settings.quarantine_dir)), err=True)
    if not assets.yasgui_installed():
        try:
            assets.install_yasgui()
        except OSError as error:
            click.echo(f"warning: YASGUI is missing ({error}); /sparql has no editor", err=True)
    click.echo(f"serving {settings.store_location} at http://{settings.host}:{settings.port}/ "
               f"(IRIs under {settings.base})", err=True)
    run_server(settings, ServerOptions(threads=threads or settings.threads, access_log=access_log))


if __name__ == "__main__":
    main()


