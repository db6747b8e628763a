"""Reader ``oai-xml``: OAI-PMH responses (ListRecords, GetRecord) or bare sequences of
<record> elements, many records a file, in DSpace ``dim``, ``oai_dc`` or ``qdc`` metadata.

dim fields keep their qualified names and languages (lang "" or "*" -> None); the elements of
the Dublin Core formats are named by a table each, graph/data/<prefix>-fields.toml, their
dc:identifier values classified by form (graph/data/dc-identifiers.toml). A record's format
names its payload: "oai-xml/qdc". A header with status="deleted" gives a deleted record
without fields (format "oai-xml"). source_id is the OAI identifier.

The file is parsed incrementally (an lxml pull parser, records released once read) and safely:
entities are never resolved, no DTD is loaded, nothing is fetched from the network, huge
trees are refused. A value holding an unexpanded entity reference rejects its record.
A record the parser stops in (malformed XML, or past a limit of the parser: an entity that
expands too much, a text over 10 MB) is one ReadError naming it and its line, and the records
after it are read (graph/readers/record_starts.py); malformed XML outside the records ends the
file with one ReadError naming the line, records before it standing.

Besides files, the same parsing serves the harvester (graph/harvest): ``read_bytes``
reads one response page held in memory, ``parse_page`` parses a page strictly (with the same
safety settings) and ``parse_record`` reads one <record> element of it; each takes the source
to name and the format to record (a harvest records "oai-pmh", so "oai-pmh/dim" ...).
"""

from __future__ import annotations

import codecs
import functools
import io
import re
import tomllib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import BinaryIO, TypedDict

from lxml import etree

from policykg.graph.readers.common import (
    BadRecord,
    FileError,
    Item,
    field_value,
    file_reader,
)
from policykg.graph.readers.record import FieldValue, ReadError, Record
from policykg.graph.readers.record_starts import Start, bytes_from, identifier_at, record_starts

FORMAT = "oai-xml"
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
DIM_NS = "http://www.dspace.org/xmlns/dspace/dim"
_ERROR_TAG = f"{{{OAI_NS}}}error"
_RECORD_TAGS = (f"{{{OAI_NS}}}record", "record")
DC_FORMATS = ("oai_dc", "qdc")  # each read by graph/data/<prefix>-fields.toml
PAYLOADS = ("dim", *DC_FORMATS)  # the metadata prefixes read
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CHUNK = 1 << 16

# A file whose first element is a <record>: wrapped in a root so several records parse.
_BARE = re.compile(
    rb"((?:\xef\xbb\xbf)?\s*(?:<\?xml\b[^>]*\?>)?)(?:\s|<!--.*?-->|<\?.*?\?>)*"
    rb"<(?:[\w.-]+:)?record[\s>/]",
    re.DOTALL,
)
_RECORD_TAG = re.compile(rb"<(?:[\w.-]+:)?record[\s>]")


def sniff(head: bytes) -> bool:
    """Markup that names the OAI-PMH namespace or holds <record> elements."""
    if not head.lstrip().startswith(b"<"):
        return False
    return OAI_NS.encode() in head or _RECORD_TAG.search(head) is not None


# --- the Dublin Core tables --------------------------------------------------------------


@dataclass(frozen=True)
class _DcTable:
    """How one Dublin Core format's elements are read: graph/data/<prefix>-fields.toml.
    Names are Clark names ({namespace}local)."""

    prefix: str
    root: str
    elements: dict[str, str]
    repeats: frozenset[str]

    def name(self, tag: str, value: str) -> str:
        """The qualified field an element's value is read as."""
        field = self.elements[tag]
        if field == "dc.identifier":
            for pattern, name in _identifier_rules():
                if pattern.search(value.strip()):
                    return name
        return field


def _data(name: str) -> dict:
    return tomllib.loads((files("policykg.graph") / "data" / name).read_text(encoding="utf-8"))


@functools.cache
def _identifier_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(rule["pattern"], re.IGNORECASE), rule["field"])
                 for rule in _data("dc-identifiers.toml")["identifier"])


def _dc_table(prefix: str) -> _DcTable:
    data = _data(f"{prefix}-fields.toml")
    namespaces = data["namespaces"]

    def clark(name: str) -> str:
        space, local = name.split(":")
        return f"{{{namespaces[space]}}}{local}"

    elements = {clark(name): field for name, field in data["elements"].items()}
    repeats = frozenset(clark(name) for name in data.get("repeats", []))
    return _DcTable(prefix, clark(data["root"]), elements, repeats)


@functools.cache
def _dc_tables() -> dict[str, _DcTable]:
    """The tables by the Clark name of their payload's root element."""
    tables = (_dc_table(prefix) for prefix in DC_FORMATS)
    return {table.root: table for table in tables}


# --- the byte stream ----------------------------------------------------------------------


class _Utf8Check:
    """Feeds bytes to a strict UTF-8 decoder; FileError names the first bad byte (counted from
    ``offset``, where the bytes fed start in the file)."""

    def __init__(self, offset: int = 0) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = offset

    def feed(self, data: bytes, final: bool = False) -> None:
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            raise FileError(f"not UTF-8 at byte {self._offset - pending + exc.start}") from None
        self._offset += len(data)


def _chunks(raw: BinaryIO) -> Iterator[bytes]:
    """The file's bytes, checked as UTF-8, wrapped in a root if it is a bare <record> list
    (the root goes after the XML declaration, on the same line: line numbers stay right)."""
    check = _Utf8Check()
    head = raw.read(CHUNK)
    check.feed(head)
    bare = _BARE.match(head)
    if bare:
        cut = bare.end(1)
        head = head[:cut] + b"<records>" + head[cut:]
    yield head
    while data := raw.read(CHUNK):
        check.feed(data)
        yield data
    check.feed(b"", final=True)
    if bare:
        yield b"</records>"


# --- records ------------------------------------------------------------------------------


def _qname(element: etree._Element) -> tuple[str | None, str]:
    qname = etree.QName(element)
    return qname.namespace, qname.localname


def _child(element: etree._Element, local: str) -> etree._Element | None:
    for child in element.iterchildren(etree.Element):
        if _qname(child)[1] == local:
            return child
    return None


def _text(element: etree._Element, name: str) -> str:
    """An element's text; BadRecord if it holds an (unexpanded) entity reference."""
    if not len(element):  # no child element, entity reference or comment: most values
        return element.text or ""
    for node in element.iter(etree.Entity):
        raise BadRecord(f"field {name}: entity reference {node.text} is not expanded")
    return "".join(element.itertext())


def _dim(payload: etree._Element) -> list[FieldValue | None]:
    values = []
    for field in payload.iterchildren(f"{{{DIM_NS}}}field"):
        parts = [field.get("mdschema"), field.get("element"), field.get("qualifier")]
        if not parts[0] or not parts[1]:
            raise BadRecord(f"dim:field without mdschema or element (line {field.sourceline})")
        name = ".".join(part for part in parts if part)
        values.append(field_value(name, _text(field, name), field.get("lang")))
    return values


def _prefixed(element: etree._Element) -> str:
    """An element's name as the document writes it: "dcterms:abstract"."""
    local = etree.QName(element).localname
    return f"{element.prefix}:{local}" if element.prefix else local


def _dublin_core(payload: etree._Element, table: _DcTable) -> list[FieldValue | None]:
    values = []
    for element in payload.iterchildren(etree.Element):
        if element.tag in table.repeats:
            continue
        name = _prefixed(element)
        if element.tag not in table.elements:
            raise BadRecord(f"unknown {table.prefix} element {name} (line {element.sourceline};"
                            f" graph/data/{table.prefix}-fields.toml names those read)")
        text = _text(element, name)
        values.append(field_value(table.name(element.tag, text), text, element.get(XML_LANG)))
    return values


def _payload(payload: etree._Element) -> tuple[str, Callable[[], list[FieldValue | None]]]:
    """The payload's metadata prefix, and how its values are read."""
    tag = payload.tag
    assert isinstance(tag, str)  # as parsed (only a tag set by hand may be another type)
    if tag == f"{{{DIM_NS}}}dim":
        return "dim", functools.partial(_dim, payload)
    table = _dc_tables().get(tag)
    if table is None:
        raise BadRecord(f"unsupported metadata format {tag}")
    return table.prefix, functools.partial(_dublin_core, payload, table)


def parse_record(record: etree._Element, source: str, number: int = 1,
                 fmt: str = FORMAT) -> Item:
    """One OAI <record> element as a Record (deleted if its header says so) or a ReadError;
    ``source`` names where it came from, ``number`` its position there (for errors)."""
    header = _child(record, "header")
    identifier = _child(header, "identifier") if header is not None else None
    source_id = (identifier.text or "").strip() if identifier is not None else ""
    if not source_id:
        message = f"record without a header identifier (line {record.sourceline})"
        return ReadError(source, f"record {number}", fmt, message)
    assert header is not None  # its identifier was found
    if header.get("status") == "deleted":
        return Record(source, source_id, fmt, [], deleted=True)
    metadata = _child(record, "metadata")
    payload = next(metadata.iterchildren(etree.Element), None) if metadata is not None else None
    if payload is None:
        return ReadError(source, source_id, fmt, "record without metadata")
    try:
        prefix, values = _payload(payload)
        fmt = f"{fmt}/{prefix}"
        return Record(source, source_id, fmt, [value for value in values() if value is not None])
    except BadRecord as exc:
        return ReadError(source, source_id, fmt, f"record rejected: {exc}")


def _oai_error(source: str, element: etree._Element, fmt: str) -> ReadError | None:
    """An OAI-PMH <error> as a ReadError; noRecordsMatch is no error (just no records)."""
    code = element.get("code", "")
    if code == "noRecordsMatch":
        return None
    message = f"OAI-PMH error {code}: {''.join(element.itertext()).strip()}"
    return ReadError(source, None, fmt, message)


def _release(element: etree._Element) -> None:
    """Free a record once read, and the records before it, so a large file is never whole."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]


class _ParserOptions(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    huge_tree: bool


def _parser_options() -> _ParserOptions:
    """Never resolve entities, load a DTD or touch the network; refuse huge trees."""
    return {"resolve_entities": False, "no_network": True, "load_dtd": False,
            "huge_tree": False}


@dataclass
class _Count:
    """What a reading has read: records and OAI-PMH errors (``found``: the numbering of the
    items, and whether the file held any), and <record> elements (``records``)."""

    found: int = 0
    records: int = 0


def _parse(chunks: Iterable[bytes], source: str, fmt: str,
           count: _Count) -> Generator[Item, None, etree._Element | None]:
    """The records of a byte stream; returns its root element. Raises etree.XMLSyntaxError
    when it is not well-formed, after the records before the fault. A pull parser hands over
    the events it parsed in a chunk that fails (iterparse, since lxml 6.2, drops them); the
    events of a failed ``close`` are not read: they close, as if complete, the elements a
    truncated stream left open."""
    parser = etree.XMLPullParser(events=("end",), **_parser_options())
    for chunk in chunks:
        try:
            parser.feed(chunk)
        except etree.XMLSyntaxError:
            yield from _read_events(parser, source, fmt, count)  # before the fault
            raise
        yield from _read_events(parser, source, fmt, count)
    root = parser.close()
    yield from _read_events(parser, source, fmt, count)
    return root


def _items(raw: BinaryIO, source: str, fmt: str) -> Iterator[Item]:
    """The records of a stream; FileError when it is not UTF-8 or not well-formed, after the
    records before the fault."""
    count = _Count()
    try:
        root = yield from _parse(_chunks(raw), source, fmt, count)
    except etree.XMLSyntaxError as exc:
        raise FileError(f"malformed XML at line {exc.lineno}: {exc.msg}") from None
    yield from _no_record(root, count, source, fmt)


def _no_record(root: etree._Element | None, count: _Count, source: str,
               fmt: str) -> Iterator[ReadError]:
    if not count.found and (root is None or _qname(root) != (OAI_NS, "OAI-PMH")):
        yield ReadError(source, None, fmt, "no OAI-PMH <record> in the file")


def _read_on(raw: BinaryIO, source: str, fmt: str) -> Iterator[Item]:
    """The records of a file, read on after a record the parser stops in: that record is
    read again alone (the fault may lie between records), and if the parser stops in it
    again, it is one ReadError and the reading goes on from the next record. A fault before
    the first record or after the last ends the file (FileError), as in ``_items``."""
    count = _Count()
    chunks: Iterable[bytes] = _chunks(raw)
    starts: list[Start] | None = None
    retried: int | None = None
    while True:
        try:
            root = yield from _parse(chunks, source, fmt, count)
            break
        except etree.XMLSyntaxError as exc:
            starts = record_starts(raw) if starts is None else starts
            at = count.records  # the record the parser stopped in, or the one after
            envelope, closing = _envelope(raw, starts) if at < len(starts) else (b"", b"")
            if at >= len(starts) or not _sound(envelope):
                raise FileError(f"malformed XML at line {exc.lineno}: {exc.msg}") from None
            if retried == at:  # it stops in this record read alone: the record is at fault
                yield _not_read(raw, starts[at], count.found + 1, exc, source, fmt)
                count.records, count.found, at = at + 1, count.found + 1, at + 1
                if at == len(starts):
                    return
            retried = at
            chunks = _resumed(raw, envelope, closing, starts, at)
    yield from _no_record(root, count, source, fmt)


def _envelope(raw: BinaryIO, starts: list[Start]) -> tuple[bytes, bytes]:
    """The bytes before the first record, with the root a bare list of records is given, and
    what closes it."""
    raw.seek(0)
    head = raw.read(starts[0].offset + 16)
    bare = _BARE.match(head)
    if not bare:
        return head[:starts[0].offset], b""
    cut = bare.end(1)
    return head[:cut] + b"<records>" + head[cut:starts[0].offset], b"</records>"


def _sound(envelope: bytes) -> bool:
    """Whether the parser reads the envelope without a fault."""
    try:
        etree.XMLPullParser(**_parser_options()).feed(envelope)
    except etree.XMLSyntaxError:
        return False
    return True


def _resumed(raw: BinaryIO, envelope: bytes, closing: bytes, starts: list[Start],
             at: int) -> Iterator[bytes]:
    """The file read again from record ``at``, behind the envelope, on its own line number."""
    yield envelope + b"\n" * (starts[at].line - starts[0].line)
    check = _Utf8Check(starts[at].offset)
    for data in bytes_from(raw, starts[at]):
        check.feed(data)
        yield data
    check.feed(b"", final=True)
    yield closing


_API_HINT = re.compile(r",\s*(?:try|see) \w*XML\w*.*$", re.S | re.I)  # advice to programmers
_LIMIT = re.compile(r"limit|amplification", re.I)


def _not_read(raw: BinaryIO, start: Start, number: int, exc: etree.XMLSyntaxError,
              source: str, fmt: str) -> ReadError:
    """The ReadError of a record the parser stops in: what stopped it, and where."""
    identifier = identifier_at(raw, start) or f"record {number}"
    cause = "the XML parser's limits" if _LIMIT.search(exc.msg) else "malformed XML"
    where = f" at line {exc.lineno}" if (exc.lineno or 0) > start.line else ""
    message = _API_HINT.sub("", exc.msg).strip()
    return ReadError(source, identifier, fmt, f"record at line {start.line} not read: {cause}"
                     f"{where}: {message}")


def _read_events(parser: etree.XMLPullParser, source: str, fmt: str,
                 count: _Count) -> Iterator[Item]:
    """The records (and OAI-PMH errors) among the parser's pending events, counted."""
    for _, element in parser.read_events():
        tag = element.tag
        if tag in _RECORD_TAGS:
            count.found += 1
            count.records += 1
            yield parse_record(element, source, count.found, fmt)
            _release(element)
        elif tag == _ERROR_TAG:
            error = _oai_error(source, element, fmt)
            if error is not None:
                count.found += 1
                yield error


@file_reader(FORMAT)
def read(path: Path) -> Iterator[Item]:
    """The file's records, one Record or ReadError each (a record the parser stops in too: the
    records after it are read)."""
    with path.open("rb") as raw:
        yield from _read_on(raw, str(path), FORMAT)


def count(path: Path) -> int:
    """How many items ``read`` gives, from the record tags in the bytes (the parser not run)."""
    with path.open("rb") as raw:
        return len(record_starts(raw)) or 1


def read_bytes(data: bytes, source: str, fmt: str = FORMAT) -> Iterator[Item]:
    """The records of one response page (or file content) held in memory, read like a file:
    a malformed page ends with one ReadError naming the line, records before it stand."""
    try:
        yield from _items(io.BytesIO(data), source, fmt)
    except FileError as exc:
        yield ReadError(source, None, fmt, str(exc))


def parse_page(data: bytes) -> etree._Element:
    """A whole response page parsed strictly, with the reader's safety settings; raises
    etree.XMLSyntaxError when it is not well-formed."""
    return etree.fromstring(data, etree.XMLParser(**_parser_options()))
