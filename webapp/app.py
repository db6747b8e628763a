"""The Flask application factory: one app per configuration, one blueprint per area."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.exceptions import RequestEntityTooLarge

from policykg.graph.config import Settings, load_settings
from policykg.graph.store import GraphStore, open_store
from policykg.webapp import context


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> Flask:
    """Build the app over a store (the configured one when none is given: embedded, or remote;
    a remote store is not contacted here, so the app starts even when the store is down)."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config[context.SETTINGS] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes  # larger bodies: 413
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.extensions[context.STORE] = store or open_store(settings.store_location,
                                                        read_only=True, settings=settings)
    from policykg.webapp.api import routes
    from policykg.webapp.discovery import search_page
    from policykg.webapp.linked_data import documents
    from policykg.webapp.site import dataset, health, root
    from policykg.webapp.sparql import protocol

    for area in (root, protocol, documents, routes, dataset, health, search_page):
        app.register_blueprint(area.blueprint)
    return app


def _too_large(error: RequestEntityTooLarge) -> Response:
    """413, saying the limit and the setting that sets it."""
    limit = context.app_settings().max_request_bytes
    return Response(f"the request body is larger than this server takes: {limit} bytes at most "
                    "(the setting max_request_bytes)\n", 413,
                    content_type="text/plain; charset=utf-8")
