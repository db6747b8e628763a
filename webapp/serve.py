"""``policykg serve``: the web app on gunicorn, over the embedded store or a remote one.

Order matters, because an embedded Oxigraph store on disk admits one read-write process:
1. before any fork, a child process (a fresh interpreter) opens the store read-write, loads
   the bundled sample record if the store holds no publication, compacts the store (at once
   when it is compact already), then exits, releasing the store. The master never opens the
   store: RocksDB starts background threads when it writes, and a process forked after that
   hangs on exit;
2. gunicorn forks the workers; each builds its own app with ``create_app``, which opens the
   store read-only (``app.extensions["policykg.store"]``). The master holds no store at all, so
   ``policykg load`` can write to the store while the server runs.

Over a remote store (``--store sparql+http://...``) the app holds nothing but HTTP connections:
any number of workers and of servers share the store. A store that is down when the server
starts does not stop it: the sample is not loaded, pages and /sparql answer 503 until the
store is back, and /healthz says so.
"""

from __future__ import annotations

import gc
import logging
import pickle
import subprocess
import sys
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from gunicorn.app.base import BaseApplication

from policykg.graph.config import Settings
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.summary import LoadSummary
from policykg.graph.readers import read
from policykg.graph.store import GraphStore, StoreError, StoreUnavailable, is_embedded, open_store
from policykg.graph.store.ledger import stored_base

log = logging.getLogger("policykg.serve")

SAMPLE = "dspace-page-IDB-LM-00577.txt"
HAS_PUBLICATION = "ASK { ?publication a <https://w3id.org/policykg/ontology#Publication> }"


@dataclass(frozen=True)
class ServerOptions:
    """How gunicorn runs the app (the rest comes from Settings)."""

    threads: int = 4          # threads per worker (gthread: slow clients and dumps block none)
    timeout: int = 120        # seconds a worker may stay silent before it is restarted
    access_log: bool = False  # log every request to standard error


def has_publication(store: GraphStore) -> bool:
    """Whether the store holds at least one publication."""
    return bool(store.query(HAS_PUBLICATION))


def load_sample(store: GraphStore, settings: Settings) -> LoadSummary:
    """Load the sample record that ships in the package, like ``policykg load`` does (under
    the store's base, if it has one)."""
    loader = Loader.for_settings(store, replace(settings,
                                                base=stored_base(store) or settings.base))
    sample = resources.files("policykg.graph") / "data" / "samples" / SAMPLE
    with resources.as_file(sample) as path:
        return loader.load(read(path))


def prepare_store(settings: Settings, sample: bool = True) -> LoadSummary | None:
    """Create the store if needed, load the sample when it has no publication, and compact it
    (the served reads are several times faster on a store a load left uncompacted); release it.

    Returns the load summary, or None when nothing was loaded. Run it before gunicorn forks.
    """
    if not is_embedded(settings.store_location):
        return _prepare_remote(settings, sample)
    try:
        store = open_store(settings.store_location)
    except OSError as error:  # another process writes (a `policykg load`), or no write access
        log.warning("the store was not prepared (the sample not loaded, the store not "
                    "compacted): it cannot be opened for writing (%s)", error)
        return None
    try:
        summary = load_sample(store, settings) if sample and not has_publication(store) else None
        seconds = store.compact()
        assert seconds is not None  # the embedded store compacts: it says how long it took
        if seconds >= 1:
            log.info("store compacted in %.1f s (a load had left it uncompacted)", seconds)
        return summary
    finally:
        store.close()
        del store
        gc.collect()  # drop the last reference now: the write lock goes with it


def _prepare_remote(settings: Settings, sample: bool) -> LoadSummary | None:
    """Load the sample into an empty remote store; a store that is down is only reported."""
    store = open_store(settings.store_location, settings=settings)
    try:
        if not sample or has_publication(store):
            return None
        return load_sample(store, settings)
    except StoreUnavailable as error:
        log.warning("the store is not reachable, the server starts without it: %s", error)
        return None
    finally:
        store.close()


def store_base(settings: Settings) -> str | None:
    """The base the store's IRIs are under (None: it records none, or cannot be reached)."""
    try:
        with open_store(settings.store_location, read_only=True, settings=settings) as store:
            return stored_base(store)
    except (StoreUnavailable, StoreError) as error:
        log.warning("the store's base could not be read: %s", error)
        return None


def prepare_store_apart(settings: Settings,
                        sample: bool = True) -> tuple[LoadSummary | None, str | None]:
    """``prepare_store`` in a child process, so that this one never touches the store; the
    summary of the sample's load, if any, and the base of the store's IRIs (``store_base``).

    The child's messages go to standard error; it sends back its answer, pickled.
    """
    done = subprocess.run([sys.executable, "-m", "policykg.webapp.serve"],
                          input=pickle.dumps((settings, sample)), stdout=subprocess.PIPE,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"preparing the store failed (exit status {done.returncode})")
    return pickle.loads(done.stdout)


def gunicorn_options(settings: Settings, options: ServerOptions) -> dict[str, Any]:
    """Gunicorn settings from policykg settings."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return {
        "bind": f"{host}:{settings.port}",
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": options.threads,
        "timeout": options.timeout,
        "graceful_timeout": 30,
        "preload_app": False,  # each worker opens its own read-only store after the fork
        "accesslog": "-" if options.access_log else None,
        "proc_name": "policykg",
        "control_socket_disable": True,  # gunicorn >= 25: no shared ~/.gunicorn/gunicorn.ctl
    }


class Server(BaseApplication):
    """Gunicorn running ``create_app(settings)`` in every worker."""

    def __init__(self, settings: Settings, options: ServerOptions | None = None) -> None:
        self.settings = settings
        self.options = gunicorn_options(settings, options or ServerOptions())
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # older gunicorn lacks some settings
                self.cfg.set(name, value)

    def load(self):
        from policykg.webapp.app import create_app

        return create_app(self.settings)


def serve(settings: Settings, options: ServerOptions | None = None) -> None:
    """Run the server until it is stopped (SIGTERM or SIGINT: graceful shutdown)."""
    Server(settings, options).run()


def _prepare_main() -> None:
    """``python -m policykg.webapp.serve``: prepare_store, then store_base, on pickled
    (settings, sample)."""
    settings, sample = pickle.load(sys.stdin.buffer)
    log.addHandler(logging.StreamHandler())  # its notes (a compaction's time) to standard error
    log.setLevel(logging.INFO)
    result, sys.stdout = sys.stdout.buffer, sys.stderr  # keep stdout for the answer alone
    summary = prepare_store(settings, sample)
    result.write(pickle.dumps((summary, store_base(settings))))
    result.flush()


if __name__ == "__main__":
    _prepare_main()
