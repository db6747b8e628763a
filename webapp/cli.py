"""``policykg serve``: the web app's command, plugged into the ``policykg`` group through the
entry point group ``policykg.commands`` (pyproject.toml)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from policykg.graph.config import Settings
from policykg.webapp import assets
from policykg.webapp.serve import ServerOptions, prepare_store_apart
from policykg.webapp.serve import serve as run_server
from policykg.webapp.site.bases import base_warnings


@click.command()
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
    changes: dict[str, Any] = {"host": host, "port": port, "workers": workers, "threads": threads}
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    try:
        summary, stored = prepare_store_apart(settings, sample=sample)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
    if summary is not None:
        click.echo("loaded the bundled sample record: " + "; ".join(
            summary.lines(settings.quarantine_dir)), err=True)
    if not all(assets.installed(folder) for folder in assets.ASSETS):
        try:
            assets.install()
        except OSError as error:
            click.echo(f"warning: front-end assets are missing ({error}); /sparql has no "
                       "editor and pages draw no charts", err=True)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    address = f"http://{host}:{settings.port}/"
    for warning in base_warnings(stored, stored or settings.base, settings.base, address):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"serving {settings.store_location} at {address} (IRIs under "
               f"{stored or settings.base})", err=True)
    run_server(settings, ServerOptions(threads=settings.threads, access_log=access_log))
