"""What a load did, as the steward reads it at the end; the summaries of several loads (a
harvest's pages) add up into one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from policykg.graph.aggregates import RefreshSummary
from policykg.graph.search.indexing import TextIndexSummary

COUNTS = ("read", "loaded", "replaced", "unchanged", "rejected", "deleted", "warnings", "undone")


@dataclass
class LoadSummary:
    """What a load did, as the steward reads it at the end."""

    read: int = 0
    loaded: int = 0
    replaced: int = 0
    unchanged: int = 0
    rejected: int = 0
    deleted: int = 0
    warnings: int = 0
    undone: int = 0  # graphs of a write cut short (a killed load), removed before this one
    unmapped: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    aggregates: RefreshSummary | None = None  # the closing refresh, if one ran
    texts: TextIndexSummary | None = None  # what the text index did, if anything

    def lines(self, quarantine: Path) -> list[str]:
        """The summary as printed by ``policykg load``."""
        lines = [
            f"read {self.read}, loaded {self.loaded}, replaced {self.replaced}, "
            f"unchanged {self.unchanged}, deleted {self.deleted}, rejected {self.rejected}, "
            f"warnings {self.warnings}"
        ]
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

    def counts(self) -> dict[str, int]:
        """The summary's counts by name."""
        return {name: getattr(self, name) for name in COUNTS}

    def __iadd__(self, other: LoadSummary) -> LoadSummary:
        """Add another load's summary to this one (its closing refresh aside)."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unmapped.update(other.unmapped)
        self.messages.extend(other.messages)
        return self
