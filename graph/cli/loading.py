"""Commands that change what the store holds: ``load`` (files, folders, globs), ``harvest`` (an
OAI-PMH endpoint) and ``remove``; with a progress bar, and, when the store fails, a report of
which records were written."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from policykg.graph import readers
from policykg.graph.cli import faults
from policykg.graph.cli.group import main
from policykg.graph.cli.progress import progress_bar, settle, shown
from policykg.graph.config import Settings
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.workers import WorkerLost
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import (
    StoreError,
    StoreUnavailable,
    open_store,
)


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
    inputs = _inputs(paths)
    if not inputs.files:
        click.echo("no records: nothing to load")
        return
    items = (item for path in inputs.files for item in readers.read(path, source_format))
    total = sum(readers.count(path, source_format) for path in inputs.files) \
        if shown(quiet) else None
    written = _Written()
    try:
        with open_store(settings.store_location, settings=settings) as store, \
                _progress(quiet, total) as bar:
            loader = Loader.for_settings(store, settings, mapping)
            summary = loader.load(written.track(items), progress=written.counter(bar.update))
            settle(bar)
    except Exception as error:
        status = 3 if isinstance(error, StoreUnavailable | StoreError | WorkerLost) else (
            faults.DISK_FULL if faults.disk_full(error) else None)
        if status is None:
            raise
        for line in written.report(error, settings):
            click.echo(line, err=True)
        sys.exit(status)
    if not quiet:
        for message in summary.messages:
            click.echo(message, err=True)
    for line in summary.lines(settings.quarantine_dir):
        click.echo(line)
    sys.exit(1 if summary.rejected or summary.skipped else 0)


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
    from policykg.graph import harvest as harvesting
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


def _inputs(paths: tuple[str, ...]) -> readers.Inputs:
    """The files the paths name; a usage error for paths that name nothing, a word for folders
    that hold no file."""
    inputs = readers.find_inputs(paths)
    problem = inputs.nothing_named()
    if problem:
        raise click.UsageError(problem)
    for folder in inputs.empty:
        click.echo(f"no records in {folder}: it holds no file", err=True)
    return inputs


class _Written:
    """Which records a load wrote before the store failed: the loader reports each batch once
    it is written, and reads the next batch only then."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.written = 0

    def track(self, items):
        for item in items:
            label = getattr(item, "label", None)
            self.read.append(str(label() if callable(label) else label
                                 or getattr(item, "source_id", None) or item.source))
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join([f"written {r}\n" for r in done] +
                                    [f"not-written {r}\n" for r in rest]), encoding="utf-8")
            listed = f"(each record written or not is listed in {path})"
        except OSError as unwritten:  # the disk that is full, say
            listed = f"(the list of the records written or not could not be written: {unwritten})"
        known = faults.fault(error)
        lines = [known[1] if known else f"the load stopped: {error}",
                 f"written: {len(done)} record(s)"
                 + (f", {done[0]} .. {done[-1]}" if done else ""),
                 f"not written: the batch being written when the load stopped and what "
                 f"follows, from {rest[0]} on" if rest else "not written: none",
                 listed,
                 "run the same load again to complete it: the records written are skipped "
                 "as unchanged, the others loaded, none twice"]
        return lines


def _progress(quiet: bool, total: int | None = None) -> Any:
    """The bar of a load (its total: the records counted in the files) or a harvest (its
    total: what the endpoint says its list holds, once it says)."""
    return progress_bar(total, quiet)


@main.command()
@click.argument("identifiers", nargs=-1, required=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def remove(settings: Settings, identifiers: tuple[str, ...], quiet: bool) -> None:
    """Remove publications by key (IDB-LM-00577), IRI, or source identifier (oai:...)."""
    from policykg.graph.loading.maintenance import remove_publications

    with open_store(settings.store_location, settings=settings) as store, \
            progress_bar(len(identifiers), quiet, " publications") as bar:
        removed, missing = remove_publications(store, Uris(settings.base), list(identifiers),
                                               progress=bar.update)
    for key in removed:
        click.echo(f"removed {key}")
    for identifier in missing:
        click.echo(f"not found: {identifier}", err=True)
    sys.exit(1 if missing else 0)


@main.command()
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def reindex(settings: Settings, quiet: bool) -> None:
    """Rebuild the text index from the records in the store (a load does it by itself when it
    finds the index out of step)."""
    from policykg.graph.search.indexing import reindex as rebuild
    from policykg.graph.search.rebuild import record_graph_names

    uris = Uris(settings.base)
    with open_store(settings.store_location, settings=settings) as store:
        total = len(record_graph_names(store, uris))
        with progress_bar(total, quiet) as bar:
            summary = rebuild(store, uris, progress=_updater(bar))
    if summary.rebuilt is None:
        click.echo("the store searches its own texts: there is no index to rebuild")
    else:
        click.echo(f"text index rebuilt: {summary.rebuilt} publications in "
                   f"{summary.seconds:.1f} s")


def _updater(bar: Any) -> Callable[[int], None]:
    def update(count: int) -> None:
        bar.update(count)
    return update
