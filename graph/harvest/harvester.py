"""Harvesting an OAI-PMH endpoint into the store (``policykg harvest URL``).

Identify first (granularity, earliest datestamp, deleted-record policy), then ListRecords page
by page, following resumption tokens to the end. Each page is parsed by the oai-xml reader
(``oai_xml.parse_page`` / ``parse_record``, the same code that reads exported files) and its
records go through ``Loader.load`` like ``policykg load``: mapping, validation, quarantine,
inference, "unchanged" by content hash, deleted records (status="deleted") removed. A harvested
record is named by its GetRecord URL (prov:wasDerivedFrom), pkg:sourceFormat "oai-pmh/PREFIX"
(the metadata prefix: dim, oai_dc or qdc) and its OAI identifier (pkg:sourceIdentifier).

Incremental and resumable (the state is graph/harvest_state.py): pages are fetched ahead in a
thread; their records reach the Loader as one stream, as a file's do in ``policykg load``, and
each time the Loader reports a batch written, the resumption token after the last page wholly
written is committed. A killed run resumes from that token; when
the endpoint no longer accepts it, from the run's own ``from``. A completed run remembers the
latest record datestamp; the next run asks ``from`` it (the day of it when the endpoint's
granularity is days: the boundary is harvested again, its records come out "unchanged").

Resilient: every request has a timeout; HTTP 503 waits for Retry-After; network errors and
other 5xx are retried with exponential backoff, a bounded number of times. A malformed record
or page is quarantined as unreadable input naming the endpoint and the page's token; after a
malformed page the harvest goes on with the page's resumption token when it can be recovered
from the bytes, else the run stops, keeping its state.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policykg.graph.config import Settings
from policykg.graph.harvest.client import (
    ANY_TIME,
    DAY,
    FormatRefused,
    HarvestError,
    OaiClient,
    Target,
    TokenRejected,
    Window,
    in_granularity,
    later,
    moment,
)
from policykg.graph.harvest.pages import Page, Prefetch, page_label, read_page
from policykg.graph.harvest.state import Outcome, Run, StateFile, TargetState
from policykg.graph.loading.loader import Loader
from policykg.graph.loading.summary import LoadSummary
from policykg.graph.readers import Item
from policykg.graph.readers.record import ReadError
from policykg.graph.store import StoreBusy, open_store


@dataclass
class HarvestResult:
    """What a harvest did, as printed at the end."""

    target: Target
    summary: LoadSummary = field(default_factory=LoadSummary)
    pages: int = 0
    records: int = 0
    skipped: int = 0
    unreadable: int = 0
    seconds: float = 0.0
    http_seconds: float = 0.0
    responses: int = 0
    from_date: str | None = None
    next_from: str | None = None
    complete: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self, quarantine: Path) -> list[str]:
        """The load summary, then the harvest's own figures."""
        rate = self.records / self.seconds if self.seconds else 0.0
        set_part = f", set {self.target.set_spec}" if self.target.set_spec else ""
        lines = [*self.notes, *self.summary.lines(quarantine), (
            f"harvested {self.records} record(s) in {self.pages} page(s) from "
            f"{self.target.endpoint} ({self.target.prefix}{set_part}"
            f"{f', from {self.from_date}' if self.from_date else ''}) in {self.seconds:.1f} s, "
            f"{rate:.1f} records/s; HTTP {self.responses} response(s), "
            f"{self.http_seconds:.1f} s")]
        if self.skipped:
            lines.append(f"{self.skipped} malformed page(s) passed over: the next run asks "
                         "the same window again")
        if self.complete and self.next_from:
            lines.append(f"the next harvest asks for records from {self.next_from}")
        return lines


def now_text() -> str:
    """The time now, as the state file writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    """The pages handed to the loader, in order, each with the count of records handed over
    up to its end; the loader's progress (records written) tells which are in the store."""

    def __init__(self) -> None:
        self.pages: list[tuple[int, Page]] = []
        self.handed = 0
        self.written = 0
        self.error: HarvestError | None = None
        self._lock = threading.Lock()

    def add(self, page: Page) -> None:
        """A page whose records are being handed over."""
        with self._lock:
            self.handed += len(page.items)
            self.pages.append((self.handed, page))

    def done(self, written: int) -> list[Page]:
        """The pages wholly written once ``written`` records are, taken off the ledger."""
        with self._lock:
            count = next((i for i, (end, _) in enumerate(self.pages) if end > written),
                         len(self.pages))
            finished, self.pages = self.pages[:count], self.pages[count:]
        return [page for _, page in finished]


class Harvester:
    """One harvest of one target into a store, through a Loader."""

    def __init__(self, client: OaiClient, open_loader: Callable[[], Loader], states: StateFile,
                 progress: Any = None) -> None:
        self.client = client
        self.target = client.target
        self._open_loader = open_loader
        self._loader: Loader | None = None
        self.states = states
        self.progress = progress
        self.result = HarvestResult(self.target)
        self._started = time.perf_counter()
        self._base: dict[str, int] = {}

    def harvest(self, window: Window = ANY_TIME) -> HarvestResult:
        """Harvest the target's window (by default: what changed since the last run)."""
        entry = self.states.get(self.target.endpoint, self.target.set_spec, self.target.prefix)
        self._identify(entry)
        run = self._open_run(entry, window)
        self._base = dict(run.counts)
        self.result.from_date = run.from_date
        self.states.save(entry)
        try:
            self._pages(entry, run)
        except BaseException as error:
            self._stopped(entry, run, error)
            raise
        self._finish(entry, run)
        return self._done()

    def get_record(self, identifier: str) -> HarvestResult:
        """Harvest one record (GetRecord); the harvest state is not touched."""
        query = {"verb": "GetRecord", "metadataPrefix": self.target.prefix,
                 "identifier": identifier}
        data = self.client.fetch(query)
        if data is not None:
            page = read_page(data, self.target, None, self.target.url(query))
            self.result.summary += self.loader.load(page.items)
            self._count([page])
        self.result.complete = True
        return self._done()

    def _identify(self, entry: TargetState) -> None:
        answer = self.client.identify()
        entry.granularity = answer.get("granularity") or DAY
        entry.earliest = answer.get("earliestDatestamp")
        entry.deleted_records = answer.get("deletedRecord")
        if entry.deleted_records == "no":
            self.result.notes.append(
                "note: the endpoint does not report deleted records (deletedRecord=no): records "
                "withdrawn there stay in the store until removed (policykg remove)")
        elif entry.deleted_records == "transient":
            self.result.notes.append(
                "note: the endpoint keeps deleted records only for a while "
                "(deletedRecord=transient): harvest often enough to see every deletion")

    def _open_run(self, entry: TargetState, window: Window) -> Run:
        """The unfinished run when the window allows, else a new one."""
        pending = entry.run
        if pending is not None and window.from_date in (None, pending.from_date) \
                and window.until in (None, pending.until):
            self.result.notes.append(
                f"resuming the run started {pending.started}: {pending.pages} page(s), "
                f"{pending.records} record(s) already loaded")
            return pending
        if pending is not None:
            self.result.notes.append(f"the unfinished run started {pending.started} is "
                                     "abandoned: another window was asked for")
        granularity = entry.granularity
        start = window.from_date or entry.datestamp
        entry.run = Run(from_date=in_granularity(start, granularity),
                        until=in_granularity(window.until, granularity), started=now_text())
        return entry.run

    def _pages(self, entry: TargetState, run: Run) -> None:
        """Feed the pages' records to the loader as one stream, as ``policykg load`` feeds a
        file's, and commit the pages the loader reports written."""
        ledger = Ledger()
        with Prefetch(self._stream(run)) as pages:
            items = self._items(pages, ledger)
            first = next(items, None)  # no record at all: the store is not even opened
            if first is not None:
                written = functools.partial(self._written, entry, run, ledger)
                summary = self.loader.load(itertools.chain([first], items), progress=written)
                self.result.summary += summary
        self._commit(entry, run, ledger.done(ledger.handed))  # pages of no records, if any
        run.counts = {name: self._base.get(name, 0) + value
                      for name, value in self.result.summary.counts().items()}
        if ledger.error is not None:
            raise ledger.error

    def _items(self, pages: Iterator[Page], ledger: Ledger) -> Iterator[Item]:
        """The records of the pages, in order; a harvest error ends the stream (what came
        before it is still loaded and committed) and is raised once the loader is done."""
        try:
            for page in pages:
                self._advance(page)
                ledger.add(page)
                yield from page.items
                if page.stuck:
                    ledger.error = HarvestError(page.fault)
                    return
        except HarvestError as error:
            ledger.error = error

    def _written(self, entry: TargetState, run: Run, ledger: Ledger, count: int) -> None:
        """The loader wrote ``count`` more records: commit the pages now wholly written."""
        ledger.written += count
        self._commit(entry, run, ledger.done(ledger.written))

    def _stream(self, run: Run) -> Iterator[Page]:
        """The run's pages from its saved token (or from its first page), to the end or to a
        page whose next token is lost; a saved token refused: from the first page again."""
        token, saved = run.token, run.token is not None
        while True:
            try:
                page = self._fetch(run, token)
            except TokenRejected:
                if not saved:
                    raise
                self.result.notes.append(f"the saved resumption token is no longer accepted: "
                                         f"restarted from {run.from_date or 'the beginning'}")
                token, saved = None, False
                continue
            saved = False
            if page is None:
                return
            yield page
            if page.stuck or page.next_token is None:
                return
            if page.next_token == token:
                raise HarvestError(f"{self.target.endpoint} answered {page_label(token)} with "
                                   "the same resumption token: stopped to avoid a loop")
            token = page.next_token

    def _fetch(self, run: Run, token: str | None) -> Page | None:
        if token:
            query = {"verb": "ListRecords", "resumptionToken": token}
        else:
            asked = {"verb": "ListRecords", "metadataPrefix": self.target.prefix,
                     "from": run.from_date, "until": run.until, "set": self.target.set_spec}
            query = {key: value for key, value in asked.items() if value}
        try:
            data = self.client.fetch(query)
        except FormatRefused as refused:
            offered = ", ".join(self.client.formats()) or "none"
            raise FormatRefused(f"{refused}; it offers: {offered}") from None
        if data is None:
            return None
        return read_page(data, self.target, token, self.target.url(query))

    def _advance(self, page: Page) -> None:
        """The progress bar: records read; its total what the list has left to read."""
        if self.progress is None:
            return
        if page.size and self.progress.total is None:
            self.progress.total = max(page.size - page.cursor, len(page.items))
        self.progress.update(len(page.items))

    @property
    def loader(self) -> Loader:
        """The Loader, made when the first page is loaded: a run that finds nothing new, or
        fails at once, never opens the store."""
        if self._loader is None:
            self._loader = self._open_loader()
        return self._loader

    def _commit(self, entry: TargetState, run: Run, pages: list[Page]) -> None:
        """Record in the state that some pages are in the store: the token to go on with."""
        if not pages:
            return
        last = pages[-1]
        run.token = last.token if last.stuck else last.next_token
        for page in pages:
            run.pages += 1
            run.records += len(page.items)
            run.skipped += bool(page.fault and not page.stuck)
            run.latest = later(run.latest, page.latest)
            if page.fault is None and self._loader is not None:
                self._loader.quarantine.release_input(page.url, None)
        self.states.save(entry)
        self._count(pages)

    def _count(self, pages: list[Page]) -> None:
        """The figures of the pages written, for the summary and the progress bar."""
        result = self.result
        result.pages += len(pages)
        result.records += sum(len(page.items) for page in pages)
        result.skipped += sum(1 for page in pages if page.fault and not page.stuck)
        result.unreadable += sum(isinstance(item, ReadError) for page in pages
                                 for item in page.items)
        if self.progress is not None:
            self.progress.set_postfix(pages=result.pages, written=result.records,
                                      unreadable=result.unreadable, refresh=False)

    def _finish(self, entry: TargetState, run: Run) -> None:
        advance = run.skipped == 0 and (
            run.from_date is None or entry.datestamp is None
            or moment(run.from_date) <= moment(entry.datestamp))
        if advance:
            entry.datestamp = later(entry.datestamp, run.latest)
        status = "complete" if run.pages else "nothing new"
        entry.last = Outcome(status, run.started, now_text(), run.pages, run.records,
                             dict(run.counts))
        entry.run = None
        self.states.save(entry)
        self.result.complete = True
        self.result.next_from = in_granularity(entry.datestamp, entry.granularity)
        if not run.pages:
            self.result.notes.append(f"nothing new since {run.from_date}" if run.from_date
                                     else "the endpoint has no records to harvest")

    def _stopped(self, entry: TargetState, run: Run, error: BaseException) -> None:
        status = "stopped" if isinstance(error, HarvestError) else "interrupted"
        message = str(error) or type(error).__name__
        entry.last = Outcome(status, run.started, now_text(), run.pages, run.records,
                             dict(run.counts), message)
        self.states.save(entry)
        if isinstance(error, HarvestError):
            error.result = self._done()

    def _done(self) -> HarvestResult:
        self.result.seconds = time.perf_counter() - self._started
        self.result.http_seconds = self.client.seconds
        self.result.responses = self.client.responses
        return self.result


def counts_text(summary: LoadSummary) -> dict[str, int]:
    """The running counts shown by the progress bar."""
    shown = ("loaded", "replaced", "unchanged", "deleted", "rejected")
    return {name: getattr(summary, name) for name in shown}


def run_harvest(settings: Settings, target: Target, window: Window = ANY_TIME, *,
                mapping: str | None = None, identifier: str | None = None,
                progress: Any = None) -> HarvestResult:
    """Harvest a target into the settings' store (or one record of it, by OAI identifier)."""
    with OaiClient(target, settings) as client, ExitStack() as stack:
        def open_loader() -> Loader:
            try:
                store = stack.enter_context(open_store(settings.store_location, settings=settings))
            except StoreBusy:
                raise  # not the harvest's fault: the command says so, with a status of its own
            except OSError as error:
                raise HarvestError(f"cannot open the store {settings.store_location}: {error}"
                                   ) from error
            return Loader.for_settings(store, settings, mapping)

        harvester = Harvester(client, open_loader, StateFile(settings.harvest_state_file),
                              progress)
        if identifier:
            return harvester.get_record(identifier)
        return harvester.harvest(window)


def status_lines(settings: Settings) -> list[str]:
    """``policykg harvest --status``: each target's last run, datestamp and counts."""
    entries = StateFile(settings.harvest_state_file).entries()
    if not entries:
        return [f"no harvest yet ({settings.harvest_state_file})"]
    return [line for entry in entries for line in _entry_lines(entry)]


def _entry_lines(entry: TargetState) -> list[str]:
    lines = [entry.key]
    last = entry.last
    if last is not None:
        figures = ", ".join(f"{name} {value}" for name, value in last.counts.items())
        lines.append(f"  last run: {last.status}, {last.started} -> {last.finished}, "
                     f"{last.pages} page(s), {last.records} record(s)"
                     f"{f'; {figures}' if figures else ''}")
        if last.error:
            lines.append(f"  error: {last.error}")
    lines.append(f"  harvested up to: {entry.datestamp or 'nothing yet'} "
                 f"(granularity {entry.granularity}, earliest {entry.earliest}, "
                 f"deleted records: {entry.deleted_records})")
    if entry.run is not None:
        lines.append(f"  unfinished run (from {entry.run.from_date or 'the beginning'}): "
                     f"{entry.run.pages} page(s) loaded, resumes at "
                     f"{page_label(entry.run.token)}")
    return lines
