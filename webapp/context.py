"""What a request reads of the app it runs in: its settings, store and IRIs (set by
``create_app``), typed, from one place.

The app serves the IRIs of its store: those under the base the store recorded at its first
load (graph/store/ledger.py), whatever base the settings name (the settings' base serves a
store that records none). It reads that base at its first request, and keeps it.
"""

from __future__ import annotations

import threading

from flask import current_app, request

from policykg.graph.config import Settings
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore
from policykg.graph.store.ledger import stored_base
from policykg.webapp.site.bases import same_address

SETTINGS = "POLICYKG"  # in app.config
STORE = "policykg.store"  # in app.extensions
URIS = "policykg.uris"


def app_settings() -> Settings:
    """The settings of the current app."""
    settings: Settings = current_app.config[SETTINGS]
    return settings


def app_store() -> GraphStore:
    """The store of the current app (opened read-only)."""
    store: GraphStore = current_app.extensions[STORE]
    return store


_lock = threading.Lock()


def app_uris() -> Uris:
    """The IRIs the current app serves: under its store's base (read at the first call)."""
    extensions = current_app.extensions
    if URIS not in extensions:
        with _lock:
            if URIS not in extensions:
                base = stored_base(app_store()) or app_settings().base
                extensions[URIS] = Uris(base)
    uris: Uris = extensions[URIS]
    return uris


def served_root() -> str:
    """Where this request reached the app, ending with "/": the base when the request came to
    the base's host and path (a proxy that passes the Host header on, whatever the scheme),
    else the address of the request."""
    base = app_uris().base
    here = answering_root()
    return base if same_address(base, here) else here


def answering_root() -> str:
    """The address this request came to: scheme, host and the app's root, ending with "/"."""
    here = request.host_url + request.script_root.lstrip("/")
    return here if here.endswith("/") else here + "/"
