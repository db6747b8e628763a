"""A Virtuoso Open Source instance for the tests and benchmarks of the remote store.

``virtuoso`` (session fixture, imported by conftest): installs Debian's virtuoso-opensource
when it is missing (apt-get, as root; the tests that need it are skipped, saying why, only when
apt is not there), starts one fresh instance in a temporary folder of its own, bound to
127.0.0.1 on free ports (SQL and HTTP), readies it for policykg (its system graphs private:
``virtuoso_setup_sql``), and stops it at the end of the session.

Between tests the store is cleared or brought back to a named state (``Virtuoso.ensure``): a
state is built once, kept as N-Quads, and restored from them afterwards, so that tests sharing
one instance do not see each other's data.

    python tests/virtuoso.py --folder /tmp/vt   # start one by hand (Ctrl-C stops it)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from policykg.graph.config import Settings
from policykg.graph.store.remote import RemoteStore
from policykg.graph.store.remote.virtuoso import virtuoso_profile, virtuoso_setup_sql

PACKAGE = "virtuoso-opensource"
SHIPPED_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
SERVER = "virtuoso-t"
ISQL = "isql-vt"
USER = PASSWORD = "dba"  # a non-interactive install leaves dba / dba
START_TIMEOUT = 120.0


def missing() -> str | None:
    """Why Virtuoso cannot be had (None: it is installed, or was installed now)."""
    if shutil.which(SERVER) and shutil.which(ISQL) and SHIPPED_INI.is_file():
        return None
    if not shutil.which("apt-get"):
        return f"{PACKAGE} is not installed and apt-get is not available to install it"
    if os.geteuid() != 0:
        return f"{PACKAGE} is not installed, and installing it with apt-get needs root"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", PACKAGE]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True,
                              timeout=900, check=False)
        if done.returncode != 0:
            return f"installing {PACKAGE} failed: {' '.join(command)}: {done.stderr[-500:]}"
    return None if shutil.which(SERVER) else f"{PACKAGE} installed, but {SERVER} is missing"


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Virtuoso:
    """One Virtuoso server: its folder, ports, process, and the state of its data."""

    folder: Path
    sql_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    buffers: int = 20_000            # NumberOfBuffers (8 kB each); more for benchmarks
    query_seconds: int = 60          # [SPARQL] MaxQueryExecutionTime (0: none)
    estimate_seconds: int = 400      # [SPARQL] MaxQueryCostEstimationTime (0: none)
    process: subprocess.Popen | None = None
    state: str | None = None         # the name of what the store holds now (None: unknown)
    snapshots: dict[str, bytes] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def location(self) -> str:
        """The policykg store location of this server."""
        return f"sparql+{self.url}/sparql"

    def settings(self, settings: Settings) -> Settings:
        """Settings pointing at this server (dba writes through /sparql-auth)."""
        return replace(settings, store=self.location, store_update_url=f"{self.url}/sparql-auth",
                       store_graph_store_url=f"{self.url}/sparql-graph-crud-auth",
                       store_user=USER, store_password=PASSWORD, store_timeout=60.0)

    def store(self, settings: Settings | None = None) -> RemoteStore:
        """A RemoteStore on this server."""
        return RemoteStore.from_settings(self.location, self.settings(settings or Settings()))

    # --- the server ---------------------------------------------------------------------------

    def write_ini(self) -> Path:
        """The shipped virtuoso.ini, moved to the folder and to loopback on our ports."""
        text = SHIPPED_INI.read_text()
        text = text.replace("/var/lib/virtuoso-opensource-7/db", str(self.folder))
        text = re.sub(r"(?m)^ServerPort\s*=\s*1111\s*$", f"ServerPort = 127.0.0.1:{self.sql_port}",
                      text)
        text = re.sub(r"(?m)^ServerPort\s*=\s*8890\s*$",
                      f"ServerPort = 127.0.0.1:{self.http_port}", text)
        text = re.sub(r"(?m)^DirsAllowed\s*=.*$", f"DirsAllowed = ., {self.folder}", text)
        text = re.sub(r"(?m)^ResultSetMaxRows\s*=.*$", "ResultSetMaxRows = 100000000", text)
        text = re.sub(r"(?m)^NumberOfBuffers\s*=.*$", f"NumberOfBuffers = {self.buffers}", text)
        text = re.sub(r"(?m)^MaxQueryExecutionTime\s*=.*$",
                      f"MaxQueryExecutionTime = {self.query_seconds}", text)
        text = re.sub(r"(?m)^MaxQueryCostEstimationTime\s*=.*$",
                      f"MaxQueryCostEstimationTime = {self.estimate_seconds}", text)
        text = re.sub(r"(?m)^MaxDirtyBuffers\s*=.*$",
                      f"MaxDirtyBuffers = {self.buffers * 3 // 4}", text)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(text)
        return ini

    def start(self) -> None:
        """Start the server (creating its database the first time) and wait for it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        ini = self.write_ini()
        log = open(self.folder / "server.out", "ab")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen([SERVER, "+foreground", "+configfile", str(ini)],
                                        cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{SERVER} exited: see {self.folder / 'virtuoso.log'}")
            if self.isql("select 1;", check=False).returncode == 0 and self._http_answers():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{SERVER} did not answer within {START_TIMEOUT:g} s")

    def _http_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=1):
                return True
        except OSError:
            return False

    def setup(self) -> None:
        """Ready a new database for policykg: Virtuoso's system graphs private."""
        self.isql(virtuoso_setup_sql())

    def stop(self) -> None:
        """Stop the server (a checkpoint first, so that it restarts quickly)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.isql("checkpoint;\nshutdown;", check=False, timeout=60)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def kill(self) -> None:
        """Stop the server at once (a crash, for fault tests)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def isql(self, sql: str, check: bool = True,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run SQL statements with isql-vt as dba."""
        done = subprocess.run([ISQL, f"127.0.0.1:{self.sql_port}", USER, PASSWORD],
                              input=sql + "\nexit;\n", capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and (done.returncode != 0 or "*** Error" in done.stdout):
            raise RuntimeError(f"isql failed: {done.stdout[-1000:]} {done.stderr[-500:]}")
        return done

    # --- its data -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Delete every quad but those of Virtuoso's own graphs."""
        keep = ", ".join(f"iri_to_id ('{g}')" for g in virtuoso_profile()["system_graphs"])
        self.isql(f"DELETE FROM DB.DBA.RDF_QUAD WHERE G NOT IN ({keep});")
        self.state = "empty"

    def ensure(self, state: str, build: Callable[[], None] | None = None) -> None:
        """Make the store hold ``state``: as it is, from its snapshot, or built (then kept)."""
        if self.state == state:
            return
        self.reset()
        if state == "empty":
            return
        if state in self.snapshots:
            store = self.store()
            store.replace([], ox.parse(self.snapshots[state], ox.RdfFormat.N_QUADS))
            store.index_texts()
            store.close()
        elif build is not None:
            build()
            self.snapshots[state] = self.dump()
        self.state = state

    def vocabularies(self, base: str = Settings().base) -> None:
        """Make the store hold only the vocabularies and their closure, as a first load leaves
        it (so that a test's load does not compute the closure again)."""
        from policykg.graph.inference.reference import prepare
        from policykg.graph.rdf.uris import Uris

        def build() -> None:
            self.reset()
            with self.store() as store:
                prepare(store, Uris(base))

        self.ensure(f"vocabularies {base}", build)

    def dirty(self) -> None:
        """The store was written by a test: its state is unknown."""
        self.state = None

    def dump(self) -> bytes:
        """Every quad of the store, as N-Quads."""
        import io

        output = io.BytesIO()
        store = self.store()
        store.dump(output, "nq")
        store.close()
        return output.getvalue()


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """One Virtuoso server for the session (skipped, saying why, when it cannot be had)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    server.start()
    try:
        server.setup()
        server.state = "empty"
        yield server
    finally:
        server.stop()


def main() -> None:
    """Start a server by hand, for trying things out."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", required=True)
    parser.add_argument("--buffers", type=int, default=200_000)
    args = parser.parse_args()
    reason = missing()
    if reason:
        raise SystemExit(reason)
    server = Virtuoso(Path(args.folder), buffers=args.buffers)
    server.start()
    server.setup()
    print(f"store: {server.location}\nupdate: {server.url}/sparql-auth (dba/dba)\n"
          f"sql: 127.0.0.1:{server.sql_port}", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
