"""Shared fixtures: settings, a store loaded through ``policykg load``, live HTTP servers.

- ``backend``: the store the tests run on, "oxigraph" (embedded) or "virtuoso" (the remote
  store on a Virtuoso server, tests/virtuoso.py). A module opts in to both with
  ``BACKENDS = ("oxigraph", "virtuoso")``; its tests then run once per backend (the session
  fixtures below follow the backend). Other modules run on the embedded store only.
- ``settings``: Settings over a temporary home, the backend's store, update token
  ``UPDATE_TOKEN``.
- ``loaded_store``: the store with the sample record loaded by the real CLI: the folder of the
  embedded store, or the location of the remote one. On Virtuoso, one server serves every
  test: a test using ``loaded_store`` gets the store in that state again (``Virtuoso.ensure``;
  a module maps its own fixtures to states in ``REMOTE_STATES``), and ``fresh_server`` or
  ``fresh_store`` empty it.
- ``live_server``: create_app(settings) on a real HTTP server (127.0.0.1, a free port), in a
  thread; ``live_server.url`` is its root ("http://127.0.0.1:PORT").
- ``server_factory``: start more servers with other settings, e.g.
  ``server_factory(replace(settings, store=..., query_timeout=1))``; stopped after the test.
- ``fresh_server``: a server over an empty store of its own (for tests that write).
- ``template_store``: a store holding only the vocabularies, which the harvest tests copy.
- ``chromium``, ``discovery_site``, ``browser_page``: a real browser and a site with enough
  records for facets (tests/browser.py).
- ``fetch(url, method, params, data, headers)``: one raw HTTP request (http.client: exactly
  the headers given, no Content-Type added), returns a ``Reply``.
The session fixtures are shared: tests that write must use a store of their own.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
import pytest
from browser import browser_page, chromium, discovery_site  # noqa: F401 - fixtures
from flask import Flask
from virtuoso import Virtuoso, virtuoso  # noqa: F401 - the session fixture
from werkzeug.serving import BaseWSGIServer, make_server

from policykg.graph.config import Settings
from policykg.graph.store import GraphStore

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "dspace-page-IDB-LM-00577.txt"
UPDATE_TOKEN = "test-update-token"


@dataclass
class LiveServer:
    """A running server: its root URL, app and settings."""

    url: str
    app: Flask
    settings: Settings
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and stop the app's query workers."""
        from policykg.webapp.sparql.executor import close_app_executor
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
        close_app_executor(self.app)


def start_server(settings: Settings, store: GraphStore | None = None) -> LiveServer:
    """Serve create_app(settings, store) on 127.0.0.1 and a free port, in a thread."""
    from policykg.webapp.app import create_app

    app = create_app(settings, store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="live-server")
    thread.start()
    return LiveServer(f"http://127.0.0.1:{server.server_port}", app, settings, server, thread)


def store_path(settings: Settings) -> Path:
    """The folder of the settings' on-disk store."""
    return Path(settings.store_location.removeprefix("oxigraph:"))


def store_environment(settings: Settings) -> dict[str, str]:
    """POLICYKG_STORE_* variables for a command run on the settings' remote store."""
    import os

    names = ("store_update_url", "store_graph_store_url", "store_user", "store_password",
             "store_timeout")
    values = {f"POLICYKG_{n.upper()}": str(getattr(settings, n)) for n in names
              if getattr(settings, n) is not None}
    return {**os.environ, **values}


def create_store(path: Path) -> Path:
    """An empty on-disk store (a read-only open needs one to exist), released at once."""
    store = ox.Store(str(path))
    store.flush()
    del store
    return path


def policykg(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``policykg`` command line on the settings' home and store."""
    command = [sys.executable, "-m", "policykg.graph.cli", "--home", settings.home,
               "--store", settings.store_location, "--base", settings.base, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                          env=store_environment(settings))


@dataclass
class Reply:
    """An HTTP response, read whole."""

    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def media(self) -> str:
        """The media type of the body, without parameters."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


Params = dict[str, str] | list[tuple[str, str]] | None


def fetch(url: str, method: str = "GET", params: Params = None,
          data: bytes | dict[str, str] | None = None, headers: dict[str, str] | None = None,
          timeout: float = 60) -> Reply:
    """One HTTP request; a dict ``data`` is sent as a form (with its Content-Type)."""
    headers = dict(headers or {})
    if isinstance(data, dict):
        data = urlencode(data).encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if params:
        target += ("&" if parts.query else "?") + urlencode(params)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


BACKENDS = ("oxigraph", "virtuoso")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a module's tests on each backend it names in BACKENDS (default: the embedded one)."""
    if "backend" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "BACKENDS", ("oxigraph",))
        metafunc.parametrize("backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """The store under test: "oxigraph" or "virtuoso"."""
    return getattr(request, "param", "oxigraph")


@pytest.fixture(scope="session")
def remote(backend: str, request: pytest.FixtureRequest) -> Virtuoso | None:
    """The Virtuoso server of the virtuoso backend (None on the embedded store)."""
    return request.getfixturevalue("virtuoso") if backend == "virtuoso" else None


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, remote: Virtuoso | None) -> Settings:
    """Settings over a temporary home and the backend's store; updates allowed."""
    home = tmp_path_factory.mktemp("policykg-home")
    settings = Settings(home=str(home), store=f"oxigraph:{home / 'store'}",
                        update_token=UPDATE_TOKEN, query_timeout=20.0, max_rows=1000)
    return remote.settings(settings) if remote else settings


@pytest.fixture(scope="session")
def loaded_store(settings: Settings, remote: Virtuoso | None) -> Path | str:
    """The settings' store with the sample record loaded by ``policykg load`` (not held open):
    the folder of the embedded store, or the location of the remote one."""

    def build() -> None:
        if remote:
            remote.vocabularies(settings.base)  # the load then reads their closure back
        done = policykg(settings, "load", "--quiet", str(SAMPLE))
        print(done.stdout, done.stderr)  # shown when a test fails
        assert done.returncode in (0, 1), done.stderr  # 1: records rejected

    if remote:
        remote.ensure("sample", build)
        return settings.store_location
    build()
    return store_path(settings)


@pytest.fixture(autouse=True)
def _remote_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """On Virtuoso, give a test the state of the shared store its fixtures were built for."""
    if "remote" not in request.fixturenames or request.getfixturevalue("remote") is None:
        yield
        return
    server = request.getfixturevalue("remote")
    states = {**getattr(request.module, "REMOTE_STATES", {})}
    wanted = [(name, state) for name, state in states.items() if name in request.fixturenames]
    if not wanted and "loaded_store" in request.fixturenames:
        wanted = [("loaded_store", "sample")]
    for name, state in wanted[:1]:
        request.getfixturevalue(name)
        server.ensure(state)
    yield


@pytest.fixture
def fresh_store(settings: Settings, remote: Virtuoso | None, tmp_path: Path) -> Settings:
    """Settings over an empty store of the test's own (on Virtuoso: the shared one, emptied)."""
    if remote:
        remote.ensure("empty")
        remote.dirty()
        return replace(settings, home=str(tmp_path))
    create_store(tmp_path / "store")
    return replace(settings, home=str(tmp_path), store=f"oxigraph:{tmp_path / 'store'}")


@pytest.fixture(scope="session")
def live_server(settings: Settings, loaded_store: Path) -> Iterator[LiveServer]:
    """The app over the loaded store, on a real HTTP server."""
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture
def server_factory() -> Iterator[Callable[..., LiveServer]]:
    """Start servers with any settings (and optionally a store object); stopped afterwards."""
    servers: list[LiveServer] = []

    def start(settings: Settings, store: GraphStore | None = None) -> LiveServer:
        servers.append(start_server(settings, store))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def vocabulary_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded store holding only the vocabularies and their closure (built once)."""
    from policykg.graph.inference.reference import prepare
    from policykg.graph.rdf.uris import Uris
    from policykg.graph.store.embedded import OxigraphStore

    path = tmp_path_factory.mktemp("vocabularies") / "store"
    store = OxigraphStore(path)
    prepare(store, Uris(Settings().base))
    store.close()
    del store
    return path


@pytest.fixture
def vocab_store(settings: Settings, remote: Virtuoso | None, tmp_path: Path,
                request: pytest.FixtureRequest) -> Settings:
    """Like ``fresh_store``, with the vocabularies and their closure already in, as a first
    load leaves them (loads then skip computing the closure: tests run faster)."""
    import shutil

    if remote:
        remote.vocabularies(settings.base)
        remote.dirty()
        return replace(settings, home=str(tmp_path))
    shutil.copytree(request.getfixturevalue("vocabulary_template"), tmp_path / "store")
    return replace(settings, home=str(tmp_path), store=f"oxigraph:{tmp_path / 'store'}")


@pytest.fixture
def fresh_server(fresh_store: Settings, server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A server over an empty store of its own; updates allowed with UPDATE_TOKEN."""
    return server_factory(fresh_store)


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, frozenset[str]]:
    """A store holding only the vocabularies (and their closure), and its graph names (the
    harvest tests copy it: tests/harvest_homes.py)."""
    from policykg.graph.inference.reference import prepare
    from policykg.graph.rdf.uris import DEFAULT_BASE, Uris
    from policykg.graph.store import open_store

    path = tmp_path_factory.mktemp("template") / "store"
    with open_store(f"oxigraph:{path}") as store:
        prepare(store, Uris(DEFAULT_BASE))
        names = frozenset(store.graph_names(""))
    return path, names
