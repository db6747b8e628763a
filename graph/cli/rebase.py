"""``policykg rebase NEW_BASE``: move the store's IRIs under another base (graph/loading/rebase.py),
for a store loaded before the address it is served at was known."""

from __future__ import annotations

import sys

import click

from policykg.graph.cli.group import main
from policykg.graph.config import Settings
from policykg.graph.loading.rebase import RebaseError, rebase
from policykg.graph.store import StoreError, StoreUnavailable, open_store


@main.command(name="rebase")
@click.argument("new_base")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_obj
def rebase_command(settings: Settings, new_base: str, quiet: bool) -> None:
    """Move every IRI of the store from the base it was loaded with to NEW_BASE (e.g.
    https://data.example.org/). Stop the servers first, and start them with --base NEW_BASE.
    A run cut short is finished by running it again."""
    from tqdm import tqdm

    try:
        with open_store(settings.store_location, settings=settings) as store, \
                tqdm(unit=" graphs", disable=True if quiet else None, file=sys.stderr) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            summary = rebase(store, new_base, progress)
    except RebaseError as error:
        raise click.UsageError(str(error)) from error
    except OSError as error:  # the embedded store is held by another writer
        if isinstance(error, StoreUnavailable):
            click.echo(f"the store is not available: {error}", err=True)
            sys.exit(3)
        raise click.ClickException(f"the store is busy (is a load running?): {error}") from None
    except StoreError as error:
        click.echo(f"the store failed: {error}; run the same rebase again to finish it",
                   err=True)
        sys.exit(3)
    click.echo(summary.line())
