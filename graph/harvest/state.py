"""How far ``policykg harvest`` got, per endpoint, set and metadata prefix.

One JSON file (``Settings.harvest_state_file``: HOME/harvest-state.json) holds an entry per
harvest target. Each entry keeps what the endpoint's Identify said (granularity, earliest
datestamp, deleted-record policy), ``datestamp`` (the latest record datestamp of the completed
runs: the next run asks ``from`` it), ``run`` (the unfinished run, if any: its window, the
resumption token of the next page to ask for, what it committed so far) and ``last`` (the last
run's outcome, for ``policykg harvest --status``).

Every save rewrites the file atomically (a temporary file in the same folder, fsync, rename)
while holding an exclusive lock on HOME/harvest-state.json.lock, re-reading the file first so
that harvests of other targets never lose each other's entries.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

VERSION = 1


@dataclass
class Run:
    """An unfinished run: committed after every loaded group of pages."""

    from_date: str | None = None     # the window asked for (None: from the beginning)
    until: str | None = None
    token: str | None = None         # the next page's resumption token (None: the first page)
    pages: int = 0                   # pages loaded and committed
    records: int = 0                 # records (and unreadable inputs) of those pages
    latest: str | None = None        # the latest record datestamp seen in those pages
    skipped: int = 0                 # malformed pages passed over (their token recovered)
    started: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Outcome:
    """How the last run of a target ended."""

    status: str                      # complete, nothing new, stopped, interrupted
    started: str
    finished: str
    pages: int = 0
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass
class TargetState:
    """Everything remembered about one harvest target."""

    endpoint: str
    set_spec: str | None
    prefix: str
    granularity: str | None = None
    earliest: str | None = None
    deleted_records: str | None = None
    datestamp: str | None = None
    run: Run | None = None
    last: Outcome | None = None

    @property
    def key(self) -> str:
        """The entry's name in the file."""
        return entry_key(self.endpoint, self.set_spec, self.prefix)

    @classmethod
    def from_json(cls, data: dict) -> TargetState:
        """An entry as stored."""
        data = dict(data)
        run, last = data.pop("run", None), data.pop("last", None)
        return cls(**data, run=Run(**run) if run else None,
                   last=Outcome(**last) if last else None)


def entry_key(endpoint: str, set_spec: str | None, prefix: str) -> str:
    """The name of a target's entry: endpoint, set (``*``: all) and prefix."""
    return f"{endpoint} set={set_spec or '*'} prefix={prefix}"


class StateFile:
    """The harvest state file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> list[TargetState]:
        """Every entry, in the order of their keys."""
        data = self._read()
        return [TargetState.from_json(data[key]) for key in sorted(data)]

    def get(self, endpoint: str, set_spec: str | None, prefix: str) -> TargetState:
        """A target's entry, a new one if it was never harvested."""
        found = self._read().get(entry_key(endpoint, set_spec, prefix))
        return TargetState.from_json(found) if found else TargetState(endpoint, set_spec, prefix)

    def save(self, entry: TargetState) -> None:
        """Write one entry, atomically, keeping the others as they are on disk."""
        with self._locked():
            data = self._read()
            data[entry.key] = asdict(entry)
            self._write(data)

    def _read(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        content = json.loads(self.path.read_text("utf-8"))
        if content.get("version") != VERSION:
            raise ValueError(f"{self.path}: unknown harvest state version {content.get('version')}")
        return content["harvests"]

    def _write(self, data: dict[str, dict]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        text = json.dumps({"version": VERSION, "harvests": data}, ensure_ascii=False, indent=1)
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(self.path.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
