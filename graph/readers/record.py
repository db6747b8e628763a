"""The record: what every reader yields and the mapping consumes, whatever the source format."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldValue:
    """One metadata value: the DSpace field name, the value, its language if the source gave one."""

    field: str
    value: str
    language: str | None = None


@dataclass
class Record:
    """A metadata record as read from a source, before any mapping.

    ``source`` is the file or URL it came from, ``source_id`` identifies the record within
    it (an OAI identifier, a CSV row id, a REST uuid, or the file name for single-record
    files), ``format`` the reader's name. A record whose source says it was withdrawn
    (OAI ``status="deleted"``) has ``deleted`` set and usually no fields.
    """

    source: str
    source_id: str
    format: str
    fields: list[FieldValue] = field(default_factory=list)
    deleted: bool = False

    def values(self, name: str) -> list[FieldValue]:
        """The values of one field, in source order."""
        return [fv for fv in self.fields if fv.field == name]

    def first(self, name: str) -> str | None:
        """The first value of a field, or None."""
        for fv in self.fields:
            if fv.field == name:
                return fv.value
        return None

    def content_hash(self, salt: str = "") -> str:
        """A digest of the record's fields (order kept), independent of where it came from."""
        rows = [[fv.field, fv.value, fv.language or ""] for fv in self.fields]
        payload = json.dumps([salt, rows], ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        """How errors name the record: its publication number if it has one, else its id."""
        return self.first("idb.identifier.pubnumber") or self.source_id


@dataclass(frozen=True)
class ReadError:
    """A record (or a whole file) a reader could not read, with the reason.

    Readers yield these instead of raising so that one bad record never stops the others.
    """

    source: str
    source_id: str | None
    format: str | None
    message: str
    raw: str | None = None

    def __str__(self) -> str:
        where = self.source if self.source_id is None else f"{self.source} [{self.source_id}]"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class NotRecords:
    """A file that holds no records: of no record format (a .gz, a program, an image), or a
    document of a known syntax that is no record (a JSON file that is no DSpace item). It is
    skipped, not rejected: nothing of it goes to the quarantine."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.source}"


@dataclass(frozen=True)
class Problem:
    """Something wrong with one value of a record, as a librarian reads it.

    ``severity`` is "Violation" (the record is rejected) or "Warning" (it loads, flagged).
    """

    severity: str
    field: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.field or "record"
        shown = "" if self.value is None else f" = {self.value[:80]!r}"
        message = self.message.removeprefix(f"{self.field}: ") if self.field else self.message
        return f"{self.severity}: {where}{shown}: {message}"
