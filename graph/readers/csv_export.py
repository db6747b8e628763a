"""Reader ``dspace-csv``: DSpace batch metadata editing CSV exports, one record a row.

The header is ``id,collection,<field>[<language>],...``: "dc.title[en]" is dc.title in
English, "dc.subject[]" or "dc.subject" has no language. ``||`` separates the values of a
cell; DSpace's authority suffix "value::authority::confidence" is dropped from a value. The
``collection`` column (owning collection handles) is not metadata and is not read. source_id
is the ``id`` cell (the item's uuid), or "row N" when it is empty or "+" (a new item).
A row with the wrong number of cells is rejected alone; the other rows are still read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from policykg.graph.readers.common import (
    BadRecord,
    FileError,
    Item,
    bad_record,
    field_value,
    file_reader,
    utf8_lines,
)
from policykg.graph.readers.record import ReadError, Record

FORMAT = "dspace-csv"
SEPARATOR = "||"
NOT_METADATA = frozenset({"id", "collection", "rowName"})

_NAME = r"[A-Za-z][\w-]*\.[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)?"
_COLUMN = re.compile(rf"({_NAME})(?:\[([^\]]*)\])?")
_CONFIDENCE = re.compile(r"-?\d+")

Column = tuple[str, str | None]


def _column(heading: str) -> Column | None:
    """(field, language) for a metadata column heading, None for any other column."""
    match = _COLUMN.fullmatch(heading.strip())
    return (match.group(1), match.group(2)) if match else None


def sniff(head: bytes) -> bool:
    """A first line of comma-separated cells that are metadata columns (at least one dc.*)
    or DSpace's own columns (id, collection)."""
    first = head.decode("utf-8", errors="replace").split("\n", 1)[0].removesuffix("\r")
    try:
        cells = [cell.strip() for cell in next(csv.reader([first]), [])]
    except csv.Error:  # a line no CSV writer writes ("\r" inside a cell unquoted): not ours
        return False
    columns = [_column(cell) for cell in cells]
    if len(cells) < 2 or not any(c and c[0].startswith("dc.") for c in columns):
        return False
    return all(column or cell in NOT_METADATA for cell, column in zip(cells, columns, strict=True))


def _without_authority(value: str) -> str:
    parts = value.rsplit("::", 2)
    return parts[0] if len(parts) == 3 and _CONFIDENCE.fullmatch(parts[2].strip()) else value


def _record(path: Path, columns: list[Column | None], row: list[str], source_id: str) -> Item:
    fields = []
    try:
        for column, cell in zip(columns, row, strict=True):
            if column is None:
                continue
            for part in cell.split(SEPARATOR):
                value = field_value(column[0], _without_authority(part), column[1])
                if value is not None:
                    fields.append(value)
    except BadRecord as exc:
        return bad_record(path, source_id, FORMAT, exc)
    return Record(str(path), source_id, FORMAT, fields)


def _header(path: Path, header: list[str]) -> Iterator[ReadError]:
    """Complaints about the header: columns that are not read, or no metadata at all."""
    columns = [_column(heading) for heading in header]
    if not any(columns):
        raise FileError("the header names no metadata column (schema.element[.qualifier])")
    ignored = [
        h for h, c in zip(header, columns, strict=True) if c is None and h not in NOT_METADATA
    ]
    if ignored:
        message = f"columns not read (not metadata fields): {', '.join(ignored)}"
        yield ReadError(str(path), None, FORMAT, message)


def count(path: Path) -> int:
    """How many items ``read`` gives: the file's rows (cells over several lines counted once),
    without reading their values."""
    with path.open(encoding="utf-8", errors="replace", newline="") as text:
        return max(sum(1 for row in csv.reader(text) if row) - 1, 1)


@file_reader(FORMAT)
def read(path: Path) -> Iterator[Item]:
    """The file's rows, one Record or ReadError each."""
    rows = csv.reader(utf8_lines(path))
    try:
        header = [heading.strip() for heading in next(rows, [])]
        yield from _header(path, header)
        columns = [_column(heading) for heading in header]
        id_at = header.index("id") if "id" in header else None
        number, next_line = 0, rows.line_num + 1
        for row in rows:
            start, next_line = next_line, rows.line_num + 1
            if not row:
                continue
            number += 1
            source_id = row[id_at].strip() if id_at is not None and id_at < len(row) else ""
            source_id = source_id if source_id not in ("", "+") else f"row {number}"
            if len(row) != len(header):
                message = f"line {start}: {len(row)} cells, the header has {len(header)}"
                yield ReadError(str(path), source_id, FORMAT, message, ",".join(row))
            else:
                yield _record(path, columns, row, source_id)
    except csv.Error as exc:
        raise FileError(f"malformed CSV at line {rows.line_num}: {exc}") from None
