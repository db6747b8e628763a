"""The ``policykg`` command: load, query, export, stats, validate, rejected, remove, serve."""

from __future__ import annotations

import csv
import json
import sys
from importlib import resources

import click
import pyoxigraph as ox

from policykg.graph import readers
from policykg.graph.config import Settings, load_settings
from policykg.graph.mapping import Mapping
from policykg.graph.pipeline import Loader
from policykg.graph.quarantine import Quarantine
from policykg.graph.store import EXPORT_FORMATS, open_store
from policykg.graph.uris import Uris


@click.group()
@click.option("--config", type=click.Path(dir_okay=False), help="A TOML settings file.")
@click.option("--home", help="Folder for the store, quarantine and state [policykg-data].")
@click.option("--store", help="The store: oxigraph:PATH [oxigraph:HOME/store].")
@click.option("--base", help="Base of every minted IRI [http://localhost:8000/].")
@click.pass_context
def main(context: click.Context, config: str | None, home: str | None, store: str | None,
         base: str | None) -> None:
    """Publication records as a linked-data knowledge graph."""
    try:
        context.obj = load_settings(config, home=home, store=store, base=base)
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
    with open_store(settings.store_location) as store, _progress(quiet) as bar:
        loader = Loader(store, Uris(settings.base), Mapping.load(mapping or settings.mapping),
                        Quarantine(settings.quarantine_dir), batch_size=settings.batch_size)
        summary = loader.load(items, progress=bar.update)
    if not quiet:
        for message in summary.messages:
            click.echo(message, err=True)
    for line in summary.lines(settings.quarantine_dir):
        click.echo(line)
    sys.exit(1 if summary.rejected else 0)


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
    with open_store(settings.store_location, read_only=True) as store:
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
    with open_store(settings.store_location, read_only=True) as store:
        if out:
            with open(out, "wb") as handle:
                store.dump(handle, output)
        else:
            store.dump(sys.stdout.buffer, output)


@main.command()
@click.pass_obj
def stats(settings: Settings) -> None:
    """Counts of things per class and of graphs and triples per kind of graph."""
    with open_store(settings.store_location, read_only=True) as store:
        for name in ("stats-classes.rq", "stats-graphs.rq"):
            query_file = resources.files("policykg.graph") / "data" / "queries" / name
            _print_result(store.query(query_file.read_text("utf-8")), "table")
            click.echo()


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
    from policykg.graph.maintenance import remove_publications

    with open_store(settings.store_location) as store:
        removed, missing = remove_publications(store, Uris(settings.base), list(identifiers))
    for key in removed:
        click.echo(f"removed {key}")
    for identifier in missing:
        click.echo(f"not found: {identifier}", err=True)
    sys.exit(1 if missing else 0)


@main.command(name="validate")
@click.option("--format", "output", type=click.Choice(["text", "ttl"]), default="text",
              show_default=True)
@click.pass_obj
def validate_command(settings: Settings, output: str) -> None:
    """Validate every record in the store against the shapes."""
    from policykg.graph.maintenance import validate_store

    with open_store(settings.store_location, read_only=True) as store:
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


