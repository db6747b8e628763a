"""The ``policykg`` command group: the settings every command shares (``--home``, ``--store``,
``--base``, ``--config``... given before the command's name), and the commands other parts of
policykg plug in through the entry point group ``policykg.commands`` (the web app's
``serve``), so that this package imports none of them.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

import click

from policykg.graph.cli.faults import fault
from policykg.graph.config import load_settings
from policykg.graph.store.ledger import BaseMismatch

PLUGINS = "policykg.commands"


@cache
def _plugins() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=PLUGINS)}


class CommandGroup(click.Group):
    """The group's own commands, and those declared in the entry point group PLUGINS."""

    def list_commands(self, context: click.Context) -> list[str]:
        return sorted({*super().list_commands(context), *_plugins()})

    def invoke(self, context: click.Context) -> object:
        """Run the command; an option of the group given after it is told where it goes; a
        store under another base than --base stops it with exit status 2 and what to do,
        before anything is written; the faults any command may meet (``faults``) end it with
        their message and status."""
        try:
            return super().invoke(context)
        except click.NoSuchOption as error:
            if error.option_name not in {name for param in self.params for name in param.opts}:
                raise
            raise click.UsageError(
                f"{error.option_name} is an option of policykg itself: give it before the "
                f"command (policykg {error.option_name} VALUE "
                f"{context.invoked_subcommand or 'COMMAND'} ...)", error.ctx) from None
        except BaseMismatch as error:
            click.echo(f"Error: {error}", err=True)
            raise click.exceptions.Exit(2) from None
        except Exception as error:
            known = fault(error)
            if known is None:
                raise
            click.echo(known[1], err=True)
            raise click.exceptions.Exit(known[0]) from None

    def get_command(self, context: click.Context, name: str) -> click.Command | None:
        command = super().get_command(context, name)
        if command is None and name in _plugins():
            loaded = _plugins()[name].load()
            command = loaded if isinstance(loaded, click.Command) else None
        return command


@click.group(cls=CommandGroup)
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
