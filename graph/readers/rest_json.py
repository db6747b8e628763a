"""Reader ``dspace-rest-json``: DSpace 7 REST API item JSON.

Reads one item (``{"uuid": ..., "metadata": {"dc.title": [{"value", "language", "place"}]}}``),
a list of items, a page of items (``_embedded.items``) or a discovery search response
(``_embedded.searchResult._embedded.objects[]._embedded.indexableObject``; objects that are
not items, such as collections, are passed over). Values are ordered by "place" within a
field; language "" or null -> None. A withdrawn item ("withdrawn": true) is a deleted record
without fields. source_id is the item's uuid. JSON that is none of these (a manifest beside
the records) holds no records: it gives one NotRecords, not an error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from policykg.graph.readers.common import (
    BadRecord,
    FileError,
    FileItem,
    Item,
    bad_record,
    field_value,
    file_reader,
    utf8_text,
)
from policykg.graph.readers.record import FieldValue, NotRecords, ReadError, Record

FORMAT = "dspace-rest-json"
NO_ITEM = "not a record (JSON, but no DSpace item)"

_FIELD = re.compile(r"[A-Za-z][\w-]*\.[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)?")


def sniff(head: bytes) -> bool:
    """A JSON object or array."""
    return head.lstrip()[:1] in (b"{", b"[")


def _get(data: Any, *keys: str) -> Any:
    """data[k1][k2]..., or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _is_item(data: Any) -> bool:
    """Whether a JSON value looks like a DSpace item: an object with metadata, or typed item."""
    return isinstance(data, dict) and ("metadata" in data or data.get("type") == "item")


def _items(data: Any) -> list[Any] | None:
    """The item objects of an item, a list, a page of items or a search response; None for
    JSON that is none of these (a list none of whose members is an item included)."""
    if isinstance(data, list):
        return data if not data or any(_is_item(member) for member in data) else None
    if _is_item(data):
        return [data]
    items = _get(data, "_embedded", "items")
    if isinstance(items, list):
        return items
    objects = _get(data, "_embedded", "searchResult", "_embedded", "objects")
    if isinstance(objects, list):
        return [_get(hit, "_embedded", "indexableObject") for hit in objects]
    return None


def _place(entry: dict[str, Any]) -> float:
    place = entry.get("place")
    return place if isinstance(place, int) and not isinstance(place, bool) else math.inf


def _values(name: str, entries: Any) -> Iterator[FieldValue]:
    """A field's values in place order (source order where "place" is missing)."""
    if not _FIELD.fullmatch(name):
        raise BadRecord(f"metadata key {name!r} is not a field name")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadRecord(f"field {name}: not a list of value objects")
    for _, entry in sorted(enumerate(entries), key=lambda pair: (_place(pair[1]), pair[0])):
        value, language = entry.get("value"), entry.get("language")
        if not isinstance(value, str | None) or not isinstance(language, str | None):
            raise BadRecord(f"field {name}: value and language must be strings")
        fv = field_value(name, value, language)
        if fv is not None:
            yield fv


def _record(path: Path, item: Any, number: int) -> Item | None:
    """One item as a Record, a ReadError, or None for a search hit that is not an item."""
    if not isinstance(item, dict):
        return ReadError(str(path), f"item {number}", FORMAT, "not a JSON object")
    if item.get("type", "item") != "item":
        return None
    source_id = str(item.get("uuid") or item.get("id") or item.get("handle") or f"item {number}")
    if item.get("withdrawn") is True:
        return Record(str(path), source_id, FORMAT, [], deleted=True)
    metadata = item.get("metadata")
    if not isinstance(metadata, dict):
        return ReadError(str(path), source_id, FORMAT, "item without a metadata object")
    try:
        fields = [fv for name, entries in metadata.items() for fv in _values(name, entries)]
    except BadRecord as exc:
        return bad_record(path, source_id, FORMAT, exc)
    return Record(str(path), source_id, FORMAT, fields)


def count(path: Path) -> int:
    """How many items ``read`` gives: the items of the parsed JSON."""
    items = _items(json.loads(path.read_bytes()))
    return len(items) if items else 1


@file_reader(FORMAT)
def read(path: Path) -> Iterator[FileItem]:
    """The file's items, one Record or ReadError each; one NotRecords for JSON that holds no
    DSpace item (a manifest beside the records, say)."""
    try:
        data = json.loads(utf8_text(path))
    except json.JSONDecodeError as exc:
        raise FileError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise FileError(f"unreadable JSON: {exc}") from None
    items = _items(data)
    if items is None:
        yield NotRecords(str(path), NO_ITEM)
        return
    for number, item in enumerate(items, 1):
        result = _record(path, item, number)
        if result is not None:
            yield result
