"""The quarantine: rejected records kept on disk with their source and the reasons, never lost."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from policykg.graph.readers.record import Problem, ReadError, Record


@dataclass
class Rejection:
    """One quarantined record (or unreadable input): where it came from and what was wrong."""

    key: str
    source: str
    source_id: str | None
    format: str | None
    problems: list[Problem]
    fields: list[list[str | None]] = field(default_factory=list)
    rejected_at: str = ""
    report: str | None = None

    def lines(self) -> Iterator[str]:
        """One line per problem: record, field, value, message."""
        where = self.source if self.source_id is None else f"{self.source} [{self.source_id}]"
        for problem in self.problems:
            yield f"{self.key} ({where}): {problem}"


class Quarantine:
    """A folder of JSON files, one per rejected record, replaced when the record is fixed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in key)
        return self.folder / f"{safe}.json"

    def reject_record(self, key: str, record: Record, problems: list[Problem],
                      report: str | None = None) -> Rejection:
        """Keep a record that failed validation, with its fields and the problems."""
        rejection = Rejection(
            key=key, source=record.source, source_id=record.source_id, format=record.format,
            problems=problems,
            fields=[[fv.field, fv.value, fv.language] for fv in record.fields],
            report=report,
        )
        self._write(rejection)
        return rejection

    def reject_input(self, error: ReadError) -> Rejection:
        """Keep an input that could not be read at all (a file, or one record of a file)."""
        digest = hashlib.sha256(f"{error.source}#{error.source_id}".encode()).hexdigest()[:16]
        rejection = Rejection(
            key=f"unreadable-{digest}", source=error.source, source_id=error.source_id,
            format=error.format, problems=[Problem("Violation", None, None, error.message)],
            fields=[["raw", error.raw, None]] if error.raw else [],
        )
        self._write(rejection)
        return rejection

    def release(self, key: str) -> None:
        """Forget a record's rejection: it has been loaded since."""
        self._path(key).unlink(missing_ok=True)

    def release_input(self, source: str, source_id: str | None) -> None:
        """Forget an unreadable-input rejection once that input reads."""
        digest = hashlib.sha256(f"{source}#{source_id}".encode()).hexdigest()[:16]
        self.release(f"unreadable-{digest}")

    def __iter__(self) -> Iterator[Rejection]:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            data = json.loads(path.read_text("utf-8"))
            data["problems"] = [Problem(**problem) for problem in data["problems"]]
            yield Rejection(**data)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.json")) if self.folder.is_dir() else 0

    def _write(self, rejection: Rejection) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        rejection.rejected_at = datetime.now(UTC).isoformat(timespec="seconds")
        path = self._path(rejection.key)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(rejection), ensure_ascii=False, indent=1), "utf-8")
        os.replace(temporary, path)
