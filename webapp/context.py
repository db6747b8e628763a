"""What a request reads of the app it runs in: its settings, store and IRIs (set by
``create_app``), typed, from one place."""

from __future__ import annotations

from flask import current_app

from policykg.graph.config import Settings
from policykg.graph.rdf.uris import Uris
from policykg.graph.store import GraphStore

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


def app_uris() -> Uris:
    """The IRIs the current app's graph mints and serves."""
    uris: Uris = current_app.extensions[URIS]
    return uris
