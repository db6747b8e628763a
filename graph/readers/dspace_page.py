"""Reader ``dspace-page``: a DSpace "full item record" page saved as text, one record a file.

Text copied from the page glues each field name to its value ("dc.identifier.doihttp://...").
A line that starts with a field name of the registry (graph/data/dspace-registry.txt) begins a
value; the name is the LONGEST registry name the line starts with, never guessed from letter
case. Lines that start with no field name continue the previous value (multi-line abstracts),
unless they are page chrome; text before the first field is page header and is dropped, and an
end line ("Return to Publication") ends the metadata. The table form
"field<TAB>value<TAB>language" is read too. The page gives no languages except in that form.
The record's source_id is the file name stem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from policykg.graph.readers.common import (
    BadRecord,
    Item,
    Registry,
    bad_record,
    field_value,
    file_reader,
    registry,
    utf8_text,
)
from policykg.graph.readers.record import FieldValue, ReadError, Record

FORMAT = "dspace-page"

_NAME = r"[A-Za-z][\w-]*\.[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)?"
_TABBED = re.compile(rf"({_NAME})\t")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*|\*")


@dataclass
class _Entry:
    """One field's value as it accumulates over the page's lines."""

    name: str
    lines: list[str]
    tabbed: bool


def sniff(head: bytes) -> bool:
    """Text (not markup or JSON) with a line that starts with a registry field name."""
    text = head.decode("utf-8", errors="replace")
    if text.lstrip()[:1] in ("<", "{", "["):
        return False
    pattern = registry().field_at_start
    return any(pattern.match(line.lstrip()) for line in text.split("\n"))


def _start(line: str, number: int, reg: Registry) -> _Entry | None:
    """The entry a line begins, or None for a continuation line; BadRecord for a line that
    starts like a field of a known schema that the registry does not list."""
    tabbed = _TABBED.match(line)
    if tabbed and tabbed.group(1).split(".", 1)[0] in reg.schemas:
        return _Entry(tabbed.group(1), [line[tabbed.end() :]], True)
    known = reg.field_at_start.match(line)
    if known:
        rest = line[known.end() :]
        if re.match(r"\.\w", rest):
            found = f"{known.group()}{rest[:30]}"
            raise BadRecord(f"line {number}: {found!r} names a field the registry does not list")
        return _Entry(known.group(), [rest], False)
    schema = re.match(r"([A-Za-z][\w-]*)\.[A-Za-z]", line)
    if schema and schema.group(1) in reg.schemas:
        raise BadRecord(f"line {number}: no registry field name starts {line[:40]!r}")
    return None


def _cut_end(line: str, reg: Registry) -> tuple[str, bool]:
    """The line without an end line glued to its end, and whether it had one."""
    stripped = line.rstrip()
    for end in reg.end:
        if stripped.endswith(end):
            return stripped[: -len(end)], True
    return line, False


def _entries(text: str, reg: Registry) -> list[_Entry]:
    """The page's field entries, chrome, header and footer dropped."""
    entries: list[_Entry] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line, ended = _cut_end(raw.removesuffix("\r"), reg)
        if line.strip() not in reg.chrome:
            entry = _start(line.lstrip(), number, reg)
            if entry is not None:
                entries.append(entry)
            elif entries:
                entries[-1].lines.append(line)
        if ended:
            break
    return entries


def _value(entry: _Entry) -> FieldValue | None:
    """The entry's value: lines joined by newlines; a tabbed entry's last cell, if it looks
    like a language code (or is empty), is its language."""
    text = "\n".join(entry.lines)
    language = None
    if entry.tabbed:
        head, tab, tail = text.rpartition("\t")
        if tab and (not tail.strip() or _LANGUAGE.fullmatch(tail.strip())):
            text, language = head, tail
    return field_value(entry.name, text, language)


def count(path: Path) -> int:
    """How many items ``read`` gives: one, a page holds one record."""
    return 1


@file_reader(FORMAT)
def read(path: Path) -> Iterator[Item]:
    """The page's one record (or one ReadError)."""
    source_id = path.stem
    try:
        entries = _entries(utf8_text(path), registry())
        values = [_value(entry) for entry in entries]
    except BadRecord as exc:
        yield bad_record(path, source_id, FORMAT, exc)
        return
    fields = [value for value in values if value is not None]
    if not fields:
        message = "no metadata: no line starts with a field name of the registry"
        yield ReadError(str(path), source_id, FORMAT, message)
        return
    yield Record(str(path), source_id, FORMAT, fields)
