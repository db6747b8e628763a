"""The formats records come in, each a reader module imported when first used (as rdflib's
parsers are), detected from a file's first bytes when not given; and the files a command's
paths name (files, folders, globs), and which name nothing.
"""

from __future__ import annotations

import csv
import glob
import importlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from policykg.graph.readers.common import BOM, HEAD_BYTES, FileItem, file_problem
from policykg.graph.readers.record import NotRecords, ReadError

# name -> (module, file extensions that hint at it). Detection tries them in this order.
_PLUGINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "oai-xml": ("policykg.graph.readers.oai_xml", (".xml",)),
    "dspace-rest-json": ("policykg.graph.readers.rest_json", (".json",)),
    "dspace-csv": ("policykg.graph.readers.csv_export", (".csv",)),
    "dspace-page": ("policykg.graph.readers.dspace_page", (".txt", ".text")),
}
FORMATS: tuple[str, ...] = tuple(_PLUGINS)
NOT_A_FORMAT = "not a record format"


def _module(fmt: str) -> ModuleType:
    return importlib.import_module(_PLUGINS[fmt][0])


def _head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as stream:
            return stream.read(HEAD_BYTES).removeprefix(BOM)
    except OSError:
        return None


def detect(path: Path | str) -> str | None:
    """The format of a file, sniffed from its first bytes; the extension only breaks ties.
    None for a file of no known format, and for binary content (a NUL byte: compressed data,
    a program, an image), which no record format holds."""
    path = Path(path)
    head = _head(path) if path.is_file() else None
    if not head or not head.strip() or b"\0" in head:
        return None
    hinted = [name for name, (_, exts) in _PLUGINS.items() if path.suffix.lower() in exts]
    for name in hinted + [name for name in FORMATS if name not in hinted]:
        if _module(name).sniff(head):
            return name
    return None


def read(path: Path | str, format: str | None = None) -> Iterator[FileItem]:
    """Read one file's records: ``format`` is one of FORMATS, or None to detect it (a file of
    no known format gives one NotRecords)."""
    path = Path(path)
    if format is None:
        problem = file_problem(path)
        if problem:
            yield ReadError(str(path), None, None, problem)
            return
        format = detect(path)
        if format is None:
            yield NotRecords(str(path), NOT_A_FORMAT)
            return
    elif format not in _PLUGINS:
        message = f"unknown format {format!r} (known formats: {', '.join(FORMATS)})"
        yield ReadError(str(path), None, None, message)
        return
    yield from _module(format).read(path)


def count(path: Path | str, format: str | None = None) -> int:
    """How many items ``read`` gives for a file, counted cheaply (without mapping a record):
    for a progress bar's total, so an estimate where the file is faulty."""
    path = Path(path)
    format = format if format is not None else (None if file_problem(path) else detect(path))
    if format not in _PLUGINS:
        return 1
    try:
        return int(_module(format).count(path))
    except (OSError, ValueError, RecursionError, csv.Error):  # read() will say what is wrong
        return 1


_GLOB_MAGIC = re.compile(r"[*?[]")


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _folder_files(folder: Path) -> list[Path]:
    found = (p for p in folder.rglob("*") if p.is_file() and not _is_hidden(p, folder))
    return sorted(found)


@dataclass(frozen=True)
class Inputs:
    """What a command's path arguments name: the files to read, in order, each once; the
    arguments that name nothing (no such file or folder; a pattern that matches nothing); the
    folders that hold no file."""

    files: list[Path]
    missing: list[str]
    unmatched: list[str]
    empty: list[str]

    def nothing_named(self) -> str | None:
        """What names nothing, said in a sentence (None: every argument names something)."""
        parts = ([f"no such file or folder: {', '.join(map(repr, self.missing))}"]
                 if self.missing else [])
        parts += ([f"no file matches {', '.join(map(repr, self.unmatched))}"]
                  if self.unmatched else [])
        return "; ".join(parts) or None


def find_inputs(args: Iterable[str]) -> Inputs:
    """Expand command-line arguments into files: files as given, folders recursively (sorted,
    hidden files and folders skipped), glob patterns (sorted)."""
    files: dict[Path, None] = {}
    missing: list[str] = []
    unmatched: list[str] = []
    empty: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = _folder_files(path)
            empty += [] if found else [arg]
        elif path.exists() or not _GLOB_MAGIC.search(arg):
            found = [path] if path.exists() else []
            missing += [] if found else [arg]
        else:
            matches = [Path(m) for m in sorted(glob.glob(arg, recursive=True))]
            found = [f for m in matches for f in (_folder_files(m) if m.is_dir() else [m])]
            unmatched += [] if matches else [arg]
            empty += [] if found or not matches else [arg]
        files.update(dict.fromkeys(found))
    return Inputs(list(files), missing, unmatched, empty)
