"""The progress bars of the long commands (load, validate, export, remove, reindex, harvest) as
a person at a terminal sees them: each command runs in a process of its own whose standard
error is a terminal (a pty), and the bar's frames are read back from it. A bar shows its total
from its first frame, and a rate and the time left as it goes.

One store for the module (24 pages, batches of 8: several batches, worker processes as a big
load has them), loaded by the first test; the commands that only read it run next, ``remove``
last.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import store_environment
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).parent))
import oai_server
from oai_records import synthetic_records
from oai_server import Repository

from policykg.graph.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_TEXT = (FIXTURES / "dspace-page-IDB-LM-00577.txt").read_text("utf-8")
PAGES = 24
BATCH = {"POLICYKG_BATCH_SIZE": "8"}
LONG_TITLE = "A " + "very " * 250 + "long title"
# A tqdm frame: "  50%|#####     | 12/24 [00:01<00:01, 9.51 records/s]" (or 1.20k/17.0k)
FRAME = re.compile(r"([\d.]+[kM]?)/([\d.]+[kM]?) \[([\d:]+)<([\d:?]+), +([\d.?]+[kM]?) ?(\w+)/s\]")


@dataclass
class Frame:
    """One drawing of a bar: done of total, elapsed, time left, rate and its unit."""

    done: str
    total: str
    elapsed: str
    left: str
    rate: str
    unit: str


@dataclass
class AtTerminal:
    """A command's exit status, standard output, and its bar's frames in the order drawn."""

    status: int
    stdout: str
    frames: list[Frame]
    stderr: str


def at_terminal(settings: Settings, *args: str) -> AtTerminal:
    """``policykg ARGS`` in a process of its own, its standard error an 80-column terminal."""
    command = [sys.executable, "-m", "policykg.graph.cli", "--home", settings.home,
               "--store", settings.store_location, *args]
    terminal, child_end = pty.openpty()
    fcntl.ioctl(child_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=child_end,
                               env={**store_environment(settings), **BATCH})
    os.close(child_end)
    drawn: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the command ended: the terminal's other end is closed
                return
            if not chunk:
                return
            drawn.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    stdout, _ = process.communicate(timeout=600)
    reader.join()
    os.close(terminal)
    stderr = b"".join(drawn).decode("utf-8", "replace")
    frames = [Frame(*found) for found in FRAME.findall(stderr)]
    return AtTerminal(process.returncode, stdout.decode("utf-8"), frames, stderr)


def assert_bar(run: AtTerminal, total: int, unit: str = "records", scaled: bool = False) -> None:
    """The bar showed ``total`` from its first frame (as tqdm writes it: 17.0k where
    ``scaled``), and ended at it with a rate and no time left."""
    shown = tqdm.format_sizeof if scaled else str
    assert run.frames, run.stderr
    first, last = run.frames[0], run.frames[-1]
    assert (first.done, first.total) == (shown(0), shown(total)), run.stderr
    assert (last.done, last.total, last.left, last.unit) == (
        shown(total), shown(total), "00:00", unit), run.stderr
    assert float(last.rate.rstrip("kM")) > 0, run.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, vocabulary_template: Path) -> Settings:
    """A home over a store holding the vocabularies, and a folder of pages to load."""
    folder = tmp_path_factory.mktemp("progress")
    shutil.copytree(vocabulary_template, folder / "store")
    corpus = folder / "corpus"
    corpus.mkdir()
    for number in range(PAGES):
        text = SAMPLE_TEXT.replace("IDB-LM-00577", f"IDB-LM-1{number:04}")
        if number == 5:
            text = text.replace("Mainstreaming the Cluster Approach in the Caribbean Region: "
                                "The CCPF Cluster Capacity Building Initiative", LONG_TITLE)
        (corpus / f"{number:03}.txt").write_text(text, encoding="utf-8")
    return Settings(home=str(folder), store=f"oxigraph:{folder / 'store'}")


@pytest.fixture(scope="module")
def loaded(home: Settings) -> AtTerminal:
    return at_terminal(home, "load", str(Path(home.home) / "corpus"))


def test_load_shows_the_records_of_its_files_as_its_total_from_the_start(
        loaded: AtTerminal) -> None:
    assert loaded.status == 0, loaded.stderr
    assert_bar(loaded, PAGES)


def test_validate_shows_a_bar_and_finds_what_the_load_found(home: Settings,
                                                             loaded: AtTerminal) -> None:
    warned = [line.split(": ", 1)[1] for line in loaded.stderr.splitlines()
              if ": Warning: " in line]
    run = at_terminal(home, "validate")
    assert_bar(run, PAGES)
    assert run.status == 0 and len(warned) == 1
    assert run.stdout.splitlines() == [f"IDB-LM-10005: {warned[0]}", "conforms"]


def test_export_shows_the_quads_written_against_the_quads_held(home: Settings,
                                                                loaded: AtTerminal,
                                                                tmp_path: Path) -> None:
    dump = tmp_path / "dump.nq"
    run = at_terminal(home, "export", "--out", str(dump))
    assert run.status == 0, run.stderr
    assert_bar(run, len(dump.read_bytes().splitlines()), "quads", scaled=True)


def test_reindex_shows_the_publications_of_the_store_as_its_total(home: Settings,
                                                                  loaded: AtTerminal) -> None:
    run = at_terminal(home, "reindex")
    assert run.status == 0, run.stderr
    assert_bar(run, PAGES)


def test_remove_shows_the_publications_named_as_its_total(home: Settings,
                                                         loaded: AtTerminal) -> None:
    run = at_terminal(home, "remove", "IDB-LM-10001", "IDB-LM-10002", "IDB-LM-10003")
    assert run.status == 0, run.stderr
    assert_bar(run, 3, "publications")


@pytest.fixture
def server() -> Iterator[oai_server.Running]:
    repository = Repository(page_size=5)
    repository.add(synthetic_records(20))
    running = oai_server.serve(repository)
    yield running
    running.stop()


def test_harvest_shows_the_size_the_endpoint_gives_its_list_as_its_total(
        tmp_path: Path, vocabulary_template: Path, server: oai_server.Running) -> None:
    shutil.copytree(vocabulary_template, tmp_path / "store")
    settings = Settings(home=str(tmp_path), store=f"oxigraph:{tmp_path / 'store'}")
    run = at_terminal(settings, "harvest", server.url)
    assert run.status == 0, run.stderr
    totals = {frame.total for frame in run.frames}
    assert totals == {"20"}, run.stderr
    last = run.frames[-1]
    assert (last.done, last.left, last.unit) == ("20", "00:00", "records")


def test_a_long_load_reports_its_first_records_before_a_whole_batch(
        tmp_path: Path, vocabulary_template: Path) -> None:
    """Batches of 16: the first ones hold 2, 4 and 8 records, so that a bar moves early."""
    from policykg.graph import readers
    from policykg.graph.loading.loader import Loader
    from policykg.graph.store import open_store

    shutil.copytree(vocabulary_template, tmp_path / "store")
    settings = Settings(home=str(tmp_path), store=f"oxigraph:{tmp_path / 'store'}",
                        batch_size=16)
    pages = []
    for number in range(20):
        pages.append(tmp_path / f"{number:03}.txt")
        pages[-1].write_text(SAMPLE_TEXT.replace("IDB-LM-00577", f"IDB-LM-2{number:04}"),
                             encoding="utf-8")
    written: list[int] = []
    with open_store(settings.store_location, settings=settings) as store:
        Loader.for_settings(store, settings).load(
            (item for path in pages for item in readers.read(path)), progress=written.append)
    assert written == [2, 4, 8, 6]
