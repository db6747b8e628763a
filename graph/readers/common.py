"""What every reader module shares: the per-file error boundary (``file_reader``), strict
UTF-8 with the failing byte offset (``utf8_text``, ``utf8_lines``), the rules a value must
follow (``field_value``), and DSpace's metadata registry (graph/data/dspace-registry.txt).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from policykg.graph.readers.record import FieldValue, NotRecords, ReadError, Record

Item = Record | ReadError
FileItem = Item | NotRecords  # what reading a file may give: its records, or that it has none
HEAD_BYTES = 65536
BOM = b"\xef\xbb\xbf"
_NO_LANGUAGE = {"", "*"}
# Halves of a UTF-16 pair, alone: JSON can escape them ("\\ud800"), UTF-8 cannot hold them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# C0 and C1 control characters other than tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SUSPECT = re.compile(f"{_CONTROL.pattern}|{_SURROGATE.pattern}")  # either, in one search


class FileError(Exception):
    """A problem with a whole file; ``file_reader`` turns it into one ReadError."""


class BadRecord(Exception):
    """A problem with one record; its reader yields a ReadError for it and goes on."""


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read at all (missing, a folder, empty), or None."""
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "is a folder, not a file"
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if len(head) < HEAD_BYTES and not head.removeprefix(BOM).strip():
        return "empty file"
    return None


def file_reader(
    fmt: str,
) -> Callable[[Callable[[Path], Iterator[FileItem]]], Callable[[Path | str], Iterator[FileItem]]]:
    """Wrap a format's generator: check the file first, turn file-level failures into a
    final ReadError (records already yielded stay yielded)."""

    def wrap(
        func: Callable[[Path], Iterator[FileItem]],
    ) -> Callable[[Path | str], Iterator[FileItem]]:
        @functools.wraps(func)
        def reader(path: Path | str) -> Iterator[FileItem]:
            path = Path(path)
            problem = file_problem(path)
            if problem:
                yield ReadError(str(path), None, fmt, problem)
                return
            try:
                yield from func(path)
            except FileError as exc:
                yield ReadError(str(path), None, fmt, str(exc))
            except OSError as exc:
                yield ReadError(str(path), None, fmt, f"cannot read: {exc.strerror or exc}")

        return reader

    return wrap


def _not_utf8(offset: int) -> FileError:
    return FileError(f"not UTF-8 at byte {offset}")


def utf8_text(path: Path) -> str:
    """The whole file decoded as UTF-8 (a leading BOM dropped); FileError names the byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc.start) from None


def utf8_lines(path: Path) -> Iterator[str]:
    """The file's lines, endings kept, decoded as they are read; FileError names the byte."""
    offset = 0
    with path.open("rb") as stream:
        for raw in stream:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(offset + exc.start) from None
            yield line.removeprefix("\ufeff") if offset == 0 else line
            offset += len(raw)


def clean_language(language: str | None) -> str | None:
    """The language as the source wrote it, None when it gave none ("", "*" or nothing)."""
    if language is None:
        return None
    language = language.strip()
    return None if language in _NO_LANGUAGE else language


def field_value(name: str, value: str | None, language: str | None = None) -> FieldValue | None:
    """One value by the shared rules: surrounding whitespace stripped, nothing else changed;
    an empty value is no value (None); a control character, or half a UTF-16 pair alone (in
    the value or the field's name), rejects the record (BadRecord)."""
    if value is None:
        return None
    if _SUSPECT.search(value) or _SURROGATE.search(name):  # rare: say which, and where
        _refuse(name, value)
    value = value.strip()
    return FieldValue(name, value, clean_language(language)) if value else None


def _refuse(name: str, value: str) -> None:
    """Raise the BadRecord of a value with a control character or half a UTF-16 pair."""
    bad = _CONTROL.search(value)
    if bad:
        code = f"U+{ord(bad.group()):04X}"
        raise BadRecord(f"field {name}: control character {code} at offset {bad.start()}")
    for text, where in ((name, f"field name {name!a}"), (value, f"field {name}")):
        if lone := _SURROGATE.search(text):
            raise BadRecord(f"{where}: unpaired surrogate U+{ord(lone.group()):04X} at offset "
                            f"{lone.start()} (a JSON escape of half a character)")


def bad_record(
    path: Path, source_id: str | None, fmt: str, exc: Exception, raw: str | None = None
) -> ReadError:
    """The ReadError for a rejected record."""
    return ReadError(str(path), source_id, fmt, f"record rejected: {exc}", raw)


@dataclass(frozen=True)
class Registry:
    """graph/data/dspace-registry.txt: known field names, aliases, page chrome."""

    fields: frozenset[str]
    aliases: dict[str, str]
    chrome: frozenset[str]
    end: frozenset[str]

    @functools.cached_property
    def schemas(self) -> frozenset[str]:
        """The metadata schemas (prefixes) of the known fields: dc, idb, ..."""
        return frozenset(name.split(".", 1)[0] for name in self.fields)

    @functools.cached_property
    def field_at_start(self) -> re.Pattern[str]:
        """Matches the longest known field name at the start of a string."""
        names = sorted(self.fields, key=len, reverse=True)
        return re.compile("|".join(re.escape(name) for name in names))


def parse_registry(text: str) -> Registry:
    """Parse the registry file format (see the file's header)."""
    sections: dict[str, list[str]] = {"fields": [], "aliases": [], "chrome": [], "end": []}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)
    aliases: dict[str, str] = {}
    for line in sections["aliases"]:
        alias, name = (part.strip() for part in line.split("=", 1))
        aliases[alias] = name
    return Registry(
        fields=frozenset(sections["fields"]) | frozenset(aliases),
        aliases=aliases,
        chrome=frozenset(sections["chrome"]),
        end=frozenset(sections["end"]),
    )


@functools.cache
def registry() -> Registry:
    """The packaged DSpace metadata registry."""
    text = (files("policykg.graph") / "data" / "dspace-registry.txt").read_text(encoding="utf-8")
    return parse_registry(text)


def canonical_field(name: str) -> str:
    """The field DSpace calls ``name`` (dc.date.issue -> dc.date.issued); others unchanged."""
    return registry().aliases.get(name, name)
