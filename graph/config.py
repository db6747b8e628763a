"""Settings: one object, read from a TOML file, then environment variables, then the command line.

Every setting has an environment variable POLICYKG_<NAME> (POLICYKG_BASE, POLICYKG_STORE...)
and a key of the same name, lower case, in the file named by --config or POLICYKG_CONFIG.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from policykg.graph.rdf.uris import DEFAULT_BASE


@dataclass(frozen=True)
class Settings:
    """Where the data lives and how it is served."""

    home: str = "policykg-data"            # quarantine, harvest state; the default store's parent
    store: str | None = None               # oxigraph:PATH (default: oxigraph:{home}/store),
                                           # or sparql+http://HOST:PORT/sparql (a remote store)
    base: str = DEFAULT_BASE               # the base of every IRI the graph mints
    mapping: str | None = None             # a mapping TOML (default: the bundled IDB mapping)
    batch_size: int = 1000
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2                       # gunicorn worker processes
    threads: int = 4                       # threads per gunicorn worker
    query_workers: int = 2                 # query processes per app process (killable)
    sparql_threads: int = 2                # threads per worker /sparql queries may hold at
                                           # once (at most threads - 1: pages keep the rest)
    query_timeout: float = 30.0            # seconds a SPARQL query may run
    update_timeout: float = 30.0           # seconds a SPARQL Update may run
    max_rows: int = 10_000                 # result rows returned before truncation
    max_request_bytes: int = 1_048_576     # the largest request body served (else 413)
    update_token: str | None = None        # bearer token for SPARQL Update; none: updates off
    service_allow: tuple[str, ...] = ()    # endpoints SERVICE may call; none by default
    # A remote store (store = sparql+http://...): where to write, as whom, how long to wait.
    store_update_url: str | None = None    # SPARQL Update endpoint [the query endpoint]
    store_graph_store_url: str | None = None  # Graph Store Protocol endpoint (writes by GSP)
    store_user: str | None = None          # user for updates and Graph Store writes
    store_password: str | None = field(default=None, repr=False)  # never logged nor shown
    store_password_file: str | None = None  # a file holding the password (instead of it)
    store_auth: str = "digest"             # HTTP authentication of writes: digest or basic
    store_timeout: float = 60.0            # seconds any request to the store may take
    store_write: str = "auto"              # how quads are written: auto, virtuoso, gsp
    store_page_size: int = 10_000          # rows per request when reading many (<= the
                                           # store's own cap, Virtuoso's ResultSetMaxRows)
    harvest_timeout: float = 60.0          # seconds an OAI-PMH request may wait (connect, read)
    harvest_retries: int = 5               # retries of a request (HTTP 503, other 5xx, network)
    harvest_backoff: float = 2.0           # seconds before the first retry, doubled each retry
    harvest_max_wait: float = 600.0        # longest single wait (Retry-After included), seconds

    @property
    def store_location(self) -> str:
        """The store to open: the configured one, or the embedded store under home."""
        return self.store or f"oxigraph:{Path(self.home) / 'store'}"

    @property
    def quarantine_dir(self) -> Path:
        """Where rejected records are kept."""
        return Path(self.home) / "quarantine"

    @property
    def harvest_state_file(self) -> Path:
        """Where ``policykg harvest`` remembers each endpoint's progress."""
        return Path(self.home) / "harvest-state.json"


def load_settings(config_file: str | None = None, **overrides: object) -> Settings:
    """Settings from defaults, the config file, POLICYKG_* variables, then explicit overrides."""
    settings = Settings()
    path = config_file or os.environ.get("POLICYKG_CONFIG")
    if path:
        with open(path, "rb") as handle:
            settings = _apply(settings, tomllib.load(handle))
    environment = {
        f.name: os.environ[f"POLICYKG_{f.name.upper()}"]
        for f in fields(Settings)
        if f"POLICYKG_{f.name.upper()}" in os.environ
    }
    settings = _apply(settings, environment)
    return _apply(settings, {k: v for k, v in overrides.items() if v is not None})


def _apply(settings: Settings, values: Mapping[str, object]) -> Settings:
    known = {f.name: f for f in fields(Settings)}
    changes: dict[str, Any] = {}  # each of its setting's type (coerced)
    for name, value in values.items():
        key = name.replace("-", "_")
        if key not in known:
            raise ValueError(f"unknown setting '{name}'; known: {', '.join(sorted(known))}")
        changes[key] = _coerce(known[key].type, value)
    return replace(settings, **changes)


def _coerce(type_name: object, value: object) -> object:
    text = str(type_name)
    if isinstance(value, str):
        if text.startswith("int"):
            return int(value)
        if text.startswith("float"):
            return float(value)
        if text.startswith("tuple"):
            return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list):
        return tuple(value)
    return value
