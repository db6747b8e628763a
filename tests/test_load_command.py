"""``policykg load`` as a librarian meets it: what it makes of the paths and files it is given,
the summary it prints, its exit statuses. On the embedded store (``vocab_store``: a store of
the test's own holding the vocabularies, as a first load leaves it)."""

from __future__ import annotations

import gzip
import json
import random
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from policykg.graph.cli import main
from policykg.graph.config import Settings
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_TEXT = (FIXTURES / "dspace-page-IDB-LM-00577.txt").read_text("utf-8")


def page(number: str) -> str:
    """The sample page with another publication number."""
    return SAMPLE_TEXT.replace("IDB-LM-00577", number)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def load(settings: Settings, *args: str) -> Result:
    """``policykg load`` on the settings' home and store."""
    options = ["--home", settings.home, "--store", settings.store_location]
    return CliRunner().invoke(main, [*options, "load", *args])


def quarantined(settings: Settings) -> int:
    return len(Quarantine(Path(settings.home) / "quarantine"))


def test_files_of_no_record_format_are_named_and_skipped_and_the_others_load(
        vocab_store: Settings, tmp_path: Path):
    folder = tmp_path / "in"
    write(folder, "good.txt", page("IDB-LM-00001"))
    write(folder, "export.xml.gz", gzip.compress(page("IDB-LM-00002").encode("utf-8")))
    shutil.copy("/bin/true", folder / "program")
    write(folder, "noise.dat", random.Random(20).randbytes(5000))
    result = load(vocab_store, str(folder))
    assert result.exit_code == 1, result.output
    for name in ("export.xml.gz", "program", "noise.dat"):
        assert f"not a record format: {folder / name}" in result.stderr
    assert "read 1, loaded 1," in result.stdout and "rejected 0" in result.stdout
    assert "skipped 3 file(s) that hold no records" in result.stdout
    assert quarantined(vocab_store) == 0


def test_a_json_file_that_holds_no_dspace_item_is_no_record(vocab_store: Settings,
                                                            tmp_path: Path):
    """As bench/synthetic.py writes a manifest beside its corpus: decided by the content (a
    manifest.json holding an item would be read)."""
    folder = tmp_path / "corpus"
    write(folder, "good.txt", page("IDB-LM-00001"))
    write(folder, "manifest.json", json.dumps(
        {"records": 1, "per_file": 1, "files": ["good.txt"], "invalid": {}}))
    write(folder, "list.json", json.dumps([{"name": "not an item"}]))
    result = load(vocab_store, str(folder))
    assert "read 1, loaded 1," in result.stdout and "rejected 0" in result.stdout
    for name in ("manifest.json", "list.json"):
        assert f"not a record (JSON, but no DSpace item): {folder / name}" in result.stderr
    assert quarantined(vocab_store) == 0


def test_a_missing_path_or_a_pattern_matching_nothing_is_a_usage_error(vocab_store: Settings,
                                                                      tmp_path: Path):
    good = write(tmp_path / "in", "good.txt", page("IDB-LM-00001"))
    result = load(vocab_store, str(good), str(tmp_path / "nothere.xml"),
                  str(tmp_path / "in" / "*.gz"))
    assert result.exit_code == 2
    assert f"no such file or folder: '{tmp_path / 'nothere.xml'}'" in result.output
    assert f"no file matches '{tmp_path / 'in' / '*.gz'}'" in result.output
    assert not (Path(vocab_store.home) / "quarantine").exists()


def test_an_empty_folder_says_it_had_no_records(vocab_store: Settings, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = load(vocab_store, str(tmp_path / "empty"))
    assert result.exit_code == 0
    assert f"no records in {tmp_path / 'empty'}: it holds no file" in result.stderr
    assert "no records: nothing to load" in result.stdout


DELETED = ('<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
           '<ListRecords><record><header status="deleted"><identifier>oai:repo:11319/9'
           '</identifier></header></record></ListRecords></OAI-PMH>')
COUNTED = ("loaded", "replaced", "unchanged", "deleted", "rejected", "duplicates", "not held")


def summary_counts(output: str) -> dict[str, int]:
    """The counts of the summary line: "read 5, loaded 2, ..." -> {"read": 5, "loaded": 2...}."""
    line = next(line for line in output.splitlines() if line.startswith("read "))
    pairs = (part.rsplit(" ", 1) for part in line.split(", "))
    return {name: int(count) for name, count in pairs}


def test_the_summary_accounts_for_every_record_read(vocab_store: Settings, tmp_path: Path):
    """The same record twice in one load (the later one is loaded), a deletion of a record
    the store does not hold, a rejected record, and a record loaded."""
    folder = tmp_path / "in"
    write(folder, "a-first.txt", page("IDB-LM-00001"))
    write(folder, "b-again.txt", page("IDB-LM-00001").replace("Caribbean Region", "Andes"))
    write(folder, "c-deleted.xml", DELETED)
    write(folder, "d-rejected.txt", page("IDB-LM-00002").replace(
        "http://dx.doi.org/10.18235/0004771", "not-a-doi"))
    write(folder, "e-good.txt", page("IDB-LM-00003"))
    result = load(vocab_store, str(folder))
    counts = summary_counts(result.stdout)
    assert counts["read"] == 5 == sum(counts[name] for name in COUNTED if name in counts)
    assert (counts["loaded"], counts["duplicates"], counts["not held"], counts["rejected"]) == (
        2, 1, 1, 1)
    assert (f"{folder / 'a-first.txt'} [a-first]: IDB-LM-00001 is read again later in this "
            f"load ({folder / 'b-again.txt'} [b-again]): the last one read is loaded"
            ) in result.stderr
    assert summary_counts(load(vocab_store, str(folder / "b-again.txt")).stdout)[
        "unchanged"] == 1  # the later one is what the store holds


def test_warnings_count_every_warning_shown_of_a_rejected_record_too(vocab_store: Settings,
                                                                     tmp_path: Path):
    long_title = "A " + "very " * 250 + "long title"
    text = page("IDB-LM-00001").replace(
        "Mainstreaming the Cluster Approach in the Caribbean Region: The CCPF Cluster "
        "Capacity Building Initiative", long_title).replace(
        "http://dx.doi.org/10.18235/0004771", "not-a-doi")
    result = load(vocab_store, str(write(tmp_path, "long.txt", text)))
    shown = [line for line in result.stderr.splitlines() if ": Warning: " in line]
    assert len(shown) == 1 and "dc.title" in shown[0]
    assert summary_counts(result.stdout)["warnings"] == 1


def test_a_rejected_record_s_problems_name_the_field_once_and_the_value_as_written(
        vocab_store: Settings, tmp_path: Path):
    title = next(line for line in SAMPLE_TEXT.splitlines(True) if line.startswith("dc.title"))
    text = page("IDB-LM-00001").replace("O32 - Management", "Z99 - Management").replace(
        title, "")
    result = load(vocab_store, str(write(tmp_path, "bad.txt", text)))
    assert result.exit_code == 1
    assert "Violation: dc.title: a publication needs a title" in result.stderr
    assert "Violation: dc.subject.jelcode = 'Z99 - Management of Technological Innovation and " \
        "R&D': JEL code Z99 is not in the JEL classification" in result.stderr
    assert "dc.title: dc.title" not in result.stderr and "/id/jel/" not in result.stderr


def load_process(settings: Settings, *args: str,
                 preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    """``policykg load`` in a process of its own (``preexec``: run in it before it starts)."""
    command = [sys.executable, "-m", "policykg.graph.cli", "--home", settings.home,
               "--store", settings.store_location, "load", "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False,
                          preexec_fn=preexec)


def test_a_second_writer_is_refused_with_a_message_and_a_status_of_its_own(
        vocab_store: Settings, tmp_path: Path):
    good = write(tmp_path / "in", "good.txt", page("IDB-LM-00001"))
    with open_store(vocab_store.store_location, settings=vocab_store):  # a load running
        second = load_process(vocab_store, str(good))
    assert second.returncode == 4, second.stderr
    assert "is being written by another process" in second.stderr
    assert "Traceback" not in second.stderr


def _file_size_limit() -> None:
    """In a child process: no file may grow past 1 MB, and growing one is an error (EFBIG), not
    the signal that would kill the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


@contextmanager
def small_disk(kind: str, settings: Settings, tmp_path: Path) -> Iterator[
        tuple[Settings, Callable[[], None] | None, Callable[[], None]]]:
    """A place to write with no room for a load: (settings there, what the load process runs
    first, how to make room). ``file-size-limit``: any machine; ``small-filesystem``: a tmpfs
    with 1 MB more than the store, where mounting one is allowed (root)."""
    if kind == "file-size-limit":
        yield settings, _file_size_limit, lambda: None
        return
    disk = tmp_path / "disk"
    disk.mkdir()
    store = Path(settings.store_location.removeprefix("oxigraph:"))
    room = sum(path.stat().st_size for path in store.rglob("*") if path.is_file()) + (1 << 20)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={room // 1024}k", "tmpfs",
                              str(disk)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"no small tmpfs can be mounted here (needs root): {mounted.stderr.strip()}")
    try:
        shutil.copytree(store, disk / "store")
        grow = ["mount", "-o", "remount,size=400m", str(disk)]
        yield (replace(settings, home=str(disk), store=f"oxigraph:{disk / 'store'}"), None,
               lambda: subprocess.run(grow, check=True))
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("kind", ["file-size-limit", "small-filesystem"])
def test_a_full_disk_stops_a_load_with_a_message_and_a_status_of_its_own_and_loses_nothing(
        vocab_store: Settings, tmp_path: Path, kind: str):
    folder = tmp_path / "in"
    for number in range(60):
        write(folder, f"{number:03}.txt", page(f"IDB-LM-1{number:04}"))
    with small_disk(kind, vocab_store, tmp_path) as (settings, preexec, make_room):
        stopped = load_process(settings, str(folder), preexec=preexec)
        assert stopped.returncode == 5, stopped.stderr
        assert "no space left to write" in stopped.stderr
        assert "run the same load again to complete it" in stopped.stderr
        assert "Traceback" not in stopped.stderr
        make_room()
        again = load_process(settings, str(folder))
        assert again.returncode == 0, again.stderr
        counts = summary_counts(again.stdout)
        assert counts["loaded"] + counts["unchanged"] == 60
