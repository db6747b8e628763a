"""Where the <record> elements of an XML file start, found in its bytes, so that its reading can
go on after a record the XML parser stops in (malformed, or past one of its limits: an entity
that expands too much, a text too long): the file is read again from the next record, behind
the same envelope (the bytes before the first record: XML declaration, root element, list;
graph/readers/oai_xml.py).

A start is found by its tag (``<record>``, ``<oai:record ...>``); one written inside a comment
or a CDATA section would be taken for a record too, which OAI-PMH files do not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20
_TAG = re.compile(rb"<(?:[\w.-]+:)?record[\s>]")
_OVERLAP = 256  # bytes kept between chunks, so that a tag cut by a chunk's end is found
_IDENTIFIER = re.compile(rb"<(?:[\w.-]+:)?identifier>\s*([^<]{1,500}?)\s*<")
HEADER_BYTES = 16384  # where a record's identifier is looked for, from its start


@dataclass(frozen=True)
class Start:
    """A record's start tag: its byte offset and its line (from 1)."""

    offset: int
    line: int


def record_starts(raw: BinaryIO) -> list[Start]:
    """The starts of the records of a file, in order (the stream is read from its start)."""
    raw.seek(0)
    starts: list[Start] = []
    kept, kept_at, line = b"", 0, 1  # bytes kept from the chunk before, their offset and line
    while data := raw.read(CHUNK):
        window = kept + data
        counted, counted_line = 0, line
        for found in _TAG.finditer(window):
            counted_line += window.count(b"\n", counted, found.start())
            counted = found.start()
            if not starts or kept_at + counted > starts[-1].offset:  # not in the overlap
                starts.append(Start(kept_at + counted, counted_line))
        cut = max(len(window) - _OVERLAP, 0)
        line += window.count(b"\n", 0, cut)
        kept, kept_at = window[cut:], kept_at + cut
    return starts


def identifier_at(raw: BinaryIO, start: Start) -> str | None:
    """The header identifier of the record starting at ``start``, if its first bytes show it."""
    raw.seek(start.offset)
    found = _IDENTIFIER.search(raw.read(HEADER_BYTES))
    return found.group(1).decode("utf-8", "replace") if found else None


def bytes_from(raw: BinaryIO, start: Start) -> Iterator[bytes]:
    """The file's bytes from a record's start on."""
    raw.seek(start.offset)
    while data := raw.read(CHUNK):
        yield data
