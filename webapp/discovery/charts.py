"""Charts of a set of publications, made of the counts a page already has (the text index's
facets of its search, the authors of its hits): no query of their own. Each chart is its data
as a table, which the page shows (readable without JavaScript) and offers as CSV, and the same
data as JSON, which static/charts.js draws with Chart.js.

    chart = per_year(facets["year"])    # None when there is nothing to draw
    chart.rows, chart.csv_href, chart.json, chart.summary
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from urllib.parse import quote

from policykg.graph.search.service import FacetValue, FoundPublication

# How many bars or co-authors a chart shows at most (its table holds the same).
MAX_BARS = 20
MAX_LINKS = 30


@dataclass
class Row:
    """One line of a chart's data: what is counted, how many, where it links."""

    label: str
    count: int
    href: str | None = None


@dataclass
class Chart:
    """A chart and its data: ``kind`` is "years" (bars along the years, gaps drawn as 0),
    "bars" (ranked bars) or "network" (``links`` between named people)."""

    name: str  # its element id, and its CSV file's name
    kind: str
    title: str
    columns: tuple[str, str]
    rows: list[Row]
    links: list[tuple[str, str, int]] = field(default_factory=list)  # network: (a, b, count)

    @property
    def summary(self) -> str:
        """What the chart shows, in words (the label screen readers say for it)."""
        if self.kind == "network":
            people = {name for a, b, _ in self.links for name in (a, b)}
            return (f"Network of {len(people)} people linked by {len(self.links)} "
                    f"co-authorships; the data is in the table “{self.title}”.")
        most = max(self.rows, key=lambda row: row.count)
        span = f", {self.rows[0].label} to {self.rows[-1].label}" if self.kind == "years" else ""
        what = self.title[:1].lower() + self.title[1:]
        return (f"Bar chart of {what}{span}; the most, {most.count:,}, "
                f"{'in' if self.kind == 'years' else 'for'} {most.label}; the data is in the "
                f"table below.")

    @property
    def csv(self) -> str:
        """The table as CSV (a header, then one line a row)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows((row.label, row.count) for row in self.rows)
        return text.getvalue()

    @property
    def csv_href(self) -> str:
        """The CSV as a data: link, so that it needs no request of its own."""
        return "data:text/csv;charset=utf-8," + quote(self.csv)

    @property
    def json(self) -> str:
        """What charts.js draws, as JSON safe inside a <script> element."""
        data = {"kind": self.kind, "title": self.title, "summary": self.summary,
                "labels": [row.label for row in self.rows],
                "values": [row.count for row in self.rows],
                "hrefs": [row.href for row in self.rows],
                "links": [list(link) for link in self.links]}
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def per_year(years: Sequence[FacetValue], title: str = "Publications per year") -> Chart | None:
    """Publications per year, oldest first (a facet "year" counts newest first)."""
    rows = sorted((Row(value.value, value.count) for value in years
                   if value.value.isdigit() and value.count),
                  key=lambda row: int(row.label))
    return Chart("years", "years", title, ("Year", "Publications"), rows) if rows else None


def top_level(values: Sequence[FacetValue], name: str, title: str, column: str,
              label: Callable[[FacetValue], str], href: Callable[[FacetValue], str | None],
              parting: bool = False) -> Chart | None:
    """The top level of a hierarchical facet (JEL, division, region), most first; ``parting``:
    the first level that parts the publications (under a single top value, the values below
    it: the Bank's divisions rather than the Bank)."""
    level = [value for value in values if value.parent is None]
    while parting and len(level) == 1:
        below = [value for value in values if value.parent == level[0].value]
        if not below:
            break
        level = below
    rows = [Row(label(value), value.count, href(value))
            for value in sorted(level, key=lambda value: -value.count) if value.count]
    return Chart(name, "bars", title, (column, "Publications"), rows[:MAX_BARS]) \
        if rows else None


def coauthor_star(person: str, coauthors: Iterable[Row],
                  title: str = "Co-authors") -> Chart | None:
    """A person and the co-authors around them, each link as thick as their publications
    together."""
    rows = [row for row in coauthors if row.count][:MAX_LINKS]
    links = [(person, row.label, row.count) for row in rows]
    return Chart("coauthors", "network", title, ("Co-author", "Publications together"), rows,
                 links) if rows else None


def coauthor_network(hits: Iterable[FoundPublication],
                     title: str = "Co-authors among these results") -> Chart | None:
    """Who wrote with whom among the hits: one link a pair of authors of one publication, as
    thick as the publications they share (the most shared first)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for hit in hits:
        names = sorted({author.label for author in hit.authors})
        pairs.update(combinations(names, 2))
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:MAX_LINKS]
    rows = [Row(f"{a} and {b}", count) for (a, b), count in ranked]
    links = [(a, b, count) for (a, b), count in ranked]
    return Chart("network", "network", title, ("Co-authors", "Publications together"), rows,
                 links) if rows else None
