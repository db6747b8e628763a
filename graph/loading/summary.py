"""What a load did, as the steward reads it at the end; the summaries of several loads (a
harvest's pages) add up into one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from policykg.graph.aggregates import RefreshSummary
from policykg.graph.readers import FORMATS, NotRecords
from policykg.graph.search.indexing import TextIndexSummary

SKIPPED_NAMED = 5  # files holding no records named in the summary (all are in the messages)
COUNTS = ("read", "loaded", "replaced", "unchanged", "rejected", "deleted", "duplicates",
          "not_held", "warnings", "undone")


@dataclass
class LoadSummary:
    """What a load did, as the steward reads it at the end. Every record read is counted once:
    loaded, replaced, unchanged, deleted, rejected, a duplicate (a later record of the same
    load has its key, and is loaded instead), or a deletion of a record the store does not
    hold (not held). Warnings count the problems short of a Violation, of every record."""

    read: int = 0
    loaded: int = 0
    replaced: int = 0
    unchanged: int = 0
    rejected: int = 0
    deleted: int = 0
    duplicates: int = 0
    not_held: int = 0
    warnings: int = 0
    undone: int = 0  # graphs of a write cut short (a killed load), removed before this one
    unmapped: Counter[str] = field(default_factory=Counter)
    skipped: list[NotRecords] = field(default_factory=list)  # files that hold no records
    messages: list[str] = field(default_factory=list)
    aggregates: RefreshSummary | None = None  # the closing refresh, if one ran
    texts: TextIndexSummary | None = None  # what the text index did, if anything

    def lines(self, quarantine: Path) -> list[str]:
        """The summary as printed by ``policykg load``."""
        rare = [f"duplicates {self.duplicates}"] if self.duplicates else []
        rare += [f"not held {self.not_held}"] if self.not_held else []
        lines = [", ".join([
            f"read {self.read}, loaded {self.loaded}, replaced {self.replaced}, "
            f"unchanged {self.unchanged}, deleted {self.deleted}, rejected {self.rejected}",
            *rare, f"warnings {self.warnings}"])]
        if self.duplicates:
            lines.append(f"duplicates: {self.duplicates} record(s) read again later in the "
                         "same load, under the same key; the last one read is loaded")
        if self.not_held:
            lines.append(f"not held: {self.not_held} deletion(s) of records the store does "
                         "not hold")
        if self.skipped:
            lines.append(self._skipped_line())
        if self.undone:
            lines.insert(0, f"a write cut short before this load was undone ({self.undone} "
                            "graphs removed); its records are loaded again if given")
        if self.unmapped:
            kept = ", ".join(f"{name} ({count})" for name, count in self.unmapped.most_common())
            lines.append(f"fields with no mapping rule, kept as dsf: literals: {kept}")
        if self.aggregates:
            lines.append(self.aggregates.line())
        if self.texts:
            lines.append(self.texts.line())
        if self.rejected:
            lines.append(f"rejected records are in {quarantine} (policykg rejected)")
        return lines

    def _skipped_line(self) -> str:
        names = [item.source for item in self.skipped[:SKIPPED_NAMED]]
        more = len(self.skipped) - len(names)
        listed = ", ".join(names) + (f" and {more} more" if more else "")
        return (f"skipped {len(self.skipped)} file(s) that hold no records: {listed} (the "
                f"record formats: {', '.join(FORMATS)}; a JSON file must hold DSpace items)")

    def counts(self) -> dict[str, int]:
        """The summary's counts by name."""
        return {name: getattr(self, name) for name in COUNTS}

    def __iadd__(self, other: LoadSummary) -> LoadSummary:
        """Add another load's summary to this one (its closing refresh aside)."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unmapped.update(other.unmapped)
        self.skipped.extend(other.skipped)
        self.messages.extend(other.messages)
        return self
