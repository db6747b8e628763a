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

import email.utils
import functools
import itertools
import math
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode
from xml.sax.saxutils import unescape

import httpx2
from lxml import etree
from oaipmh_scythe import Scythe
from oaipmh_scythe import exceptions as oai_errors
from oaipmh_scythe.config import HTTPConfig, RetryConfig

from policykg.graph.config import Settings
from policykg.graph.harvest.state import Entry, Outcome, Run, StateFile
from policykg.graph.loading.loader import Loader, LoadSummary
from policykg.graph.loading.quarantine import Quarantine
from policykg.graph.mapping.rules import Mapping
from policykg.graph.rdf.uris import Uris
from policykg.graph.readers import Item, oai_xml
from policykg.graph.readers.record import ReadError
from policykg.graph.store import open_store

FORMAT = "oai-pmh"
OAI = oai_xml.OAI_NS
READABLE_PREFIXES = oai_xml.PAYLOADS
DAY = "YYYY-MM-DD"
PREFETCH = 32  # pages fetched ahead of the loader at most
_RECORDS = (f"{{{OAI}}}ListRecords/{{{OAI}}}record", f"{{{OAI}}}GetRecord/{{{OAI}}}record")
_TOKEN = f"{{{OAI}}}ListRecords/{{{OAI}}}resumptionToken"
_DATESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?")
_TOKEN_BYTES = re.compile(
    rb"<(?:[\w.-]+:)?resumptionToken\b[^>]*?(?:/>|>([^<]*)</(?:[\w.-]+:)?resumptionToken>)")
_RESPONSE_END = re.compile(rb"</(?:[\w.-]+:)?OAI-PMH>\s*$")
_NO_IDENTIFIER = re.compile(r"record \d+")
T = TypeVar("T")


class HarvestError(Exception):
    """A harvest that cannot go on; the state is kept, the next run goes on from it.
    ``result`` is what the run did before it stopped, when it got that far."""

    result: HarvestResult | None = None


class TokenRejected(HarvestError):
    """The endpoint answered badResumptionToken."""


class FormatRefused(HarvestError):
    """The endpoint answered cannotDisseminateFormat."""


# --- what to harvest ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """An endpoint, a set (None: all) and a metadata prefix."""

    endpoint: str
    set_spec: str | None = None
    prefix: str = "dim"

    def __post_init__(self) -> None:
        if not re.match(r"https?://", self.endpoint):
            raise ValueError(f"not an http(s) URL: {self.endpoint!r}")
        if self.prefix not in READABLE_PREFIXES:
            raise ValueError(
                f"metadata prefix {self.prefix!r} cannot be read: the oai-xml reader reads "
                f"{', '.join(READABLE_PREFIXES)} only; harvest with --metadata-prefix dim")

    def url(self, query: dict[str, str]) -> str:
        """The URL of a request to the endpoint."""
        return f"{self.endpoint}{'&' if '?' in self.endpoint else '?'}{urlencode(query)}"

    def record_url(self, identifier: str) -> str:
        """A record's GetRecord URL: where a harvested record is derived from."""
        return self.url({"verb": "GetRecord", "metadataPrefix": self.prefix,
                         "identifier": identifier})


@dataclass(frozen=True)
class Window:
    """The ``from`` and ``until`` asked for on the command line (None: not given)."""

    from_date: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("--from", self.from_date), ("--until", self.until)):
            if value is not None and not is_datestamp(value):
                raise ValueError(f"{name} {value!r}: give YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


def is_datestamp(text: str) -> bool:
    """Whether a text is an OAI-PMH datestamp (a day, or seconds in UTC) of a real date."""
    if not _DATESTAMP.fullmatch(text):
        return False
    try:
        moment(text)
    except ValueError:
        return False
    return True


def moment(datestamp: str) -> datetime:
    """A datestamp (day or seconds) as a UTC time, for comparisons."""
    if len(datestamp) == 10:
        return datetime.fromisoformat(datestamp).replace(tzinfo=UTC)
    return datetime.fromisoformat(datestamp.replace("Z", "+00:00"))


def later(first: str | None, second: str | None) -> str | None:
    """The later of two datestamps (either may be None)."""
    if first is None or second is None:
        return first or second
    return first if moment(first) >= moment(second) else second


def in_granularity(datestamp: str | None, granularity: str | None) -> str | None:
    """A datestamp as the endpoint takes it: the day alone for day granularity."""
    if datestamp is None:
        return None
    return datestamp[:10] if granularity == DAY else datestamp


# --- the client ---------------------------------------------------------------------------


class HttpFailure(Exception):
    """An HTTP error status, raised by the response hook before Scythe reads the body."""

    def __init__(self, status: int, reason: str, url: str) -> None:
        super().__init__(f"HTTP {status} {reason} from {url}")
        self.status = status


class OaiClient:
    """The OAI-PMH requests of a harvest, made with oaipmh-scythe.

    Scythe provides the HTTP client (httpx2) with a timeout on every request, the retries of
    HTTP 503 after the Retry-After it names, the retries of network errors (connection
    refused, timeouts) with exponential backoff and jitter, and OAI-PMH <error>s as exceptions.
    A response hook on its client adds what it lacks: Retry-After made whole seconds (Scythe
    takes int() of it: an HTTP date or a fraction would crash it), capped at harvest_max_wait,
    the backoff when absent; other HTTP errors raised before Scythe parses their body as XML
    (a plain-text error body crashes its parser), 5xx then retried here with exponential
    backoff; counts of responses and of the seconds spent waiting for them.

    Pages are requested one by one with ``Scythe.harvest`` rather than through its iterators:
    a harvest commits its state between pages and resumes from a saved token, it reads each
    page's raw bytes strictly (the iterators re-parse pages with a recovering parser, which
    silently drops what is malformed), and a malformed page must not end the iteration.
    """

    def __init__(self, target: Target, settings: Settings,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.target = target
        self.retries = settings.harvest_retries
        self.backoff = settings.harvest_backoff
        self.max_wait = settings.harvest_max_wait
        self.sleep = sleep
        self.responses = 0
        self.seconds = 0.0
        self._unavailable = 0
        retry = RetryConfig(max_retries=self.retries, retry_status_codes=(503,),
                            default_retry_after=self.max_wait, retry_on_transport_error=True,
                            initial_backoff=self.backoff)
        http = HTTPConfig(timeout=settings.harvest_timeout, user_agent="policykg-harvest")
        self.scythe = Scythe(target.endpoint, http_config=http, retry_config=retry)
        self.scythe.client.follow_redirects = True
        self.scythe.client.event_hooks["response"].append(self._check)

    def __enter__(self) -> OaiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.scythe.close()

    def identify(self) -> dict[str, str]:
        """The Identify answer: element name -> text (granularity, earliestDatestamp...)."""
        def ask() -> dict[str, str]:
            found = self.scythe.harvest({"verb": "Identify"}).xml.find(f"{{{OAI}}}Identify")
            if found is None:
                raise HarvestError(f"{self.target.endpoint} gave no Identify answer: "
                                   "is it an OAI-PMH endpoint?")
            return {etree.QName(child).localname: (child.text or "").strip()
                    for child in found.iterchildren(etree.Element)}

        return self._call("Identify", ask)

    def formats(self) -> list[str]:
        """The metadata prefixes the endpoint offers."""
        return self._call("ListMetadataFormats", lambda: [
            str(item.metadataPrefix) for item in self.scythe.list_metadata_formats()])

    def fetch(self, query: dict[str, str]) -> bytes | None:
        """One response page's bytes; None when the endpoint says noRecordsMatch."""
        response = self._call(_describe(query), lambda: self.scythe.harvest(query))
        return None if response is None else response.http_response.content

    def _call(self, what: str, request: Callable[[], T]) -> T:
        """A request, its 5xx retried with backoff, its failures as HarvestErrors; None for
        noRecordsMatch. The time it takes (waits included) counts as HTTP time."""
        for attempt in itertools.count():
            self._unavailable = 0
            started = time.perf_counter()
            try:
                return request()
            except HttpFailure as failure:
                if not 500 <= failure.status != 503 or attempt >= self.retries:
                    attempt = self.retries if failure.status == 503 else attempt
                    retried = f" (after {attempt} retries)" if attempt else ""
                    raise HarvestError(f"{what}: {failure}{retried}") from None
                self.sleep(min(self.backoff * 2**attempt, self.max_wait))
            except httpx2.TransportError as error:
                raise HarvestError(f"{what}: cannot reach {self.target.endpoint} "
                                   f"({type(error).__name__}: {error}) after {self.retries} "
                                   "retries") from None
            except oai_errors.NoRecordsMatch:
                return None
            except oai_errors.OAIPMHException as error:
                raise oai_problem(error, self.target, what) from None
            except (AttributeError, ValueError) as error:
                # Scythe fails so on a body that is not XML at all (its parser returns None).
                raise HarvestError(f"{what}: {self.target.endpoint} did not answer in "
                                   f"OAI-PMH XML ({error})") from None
            finally:
                self.seconds += time.perf_counter() - started
        raise AssertionError("unreachable")

    def _check(self, response: httpx2.Response) -> None:
        """The response hook: count, let Scythe retry a 503, raise other HTTP errors."""
        self.responses += 1
        status = response.status_code
        if status == 503 and self._unavailable < self.retries:
            self._unavailable += 1
            response.headers["Retry-After"] = str(self._retry_after(response))
        elif status >= 400:
            raise HttpFailure(status, response.reason_phrase, str(response.url))

    def _retry_after(self, response: httpx2.Response) -> int:
        """Seconds to wait before asking again: the server's Retry-After, else the backoff."""
        wait = _seconds(response.headers.get("Retry-After"))
        if wait is None:
            wait = self.backoff * 2 ** (self._unavailable - 1)
        return math.ceil(min(max(wait, 0.0), self.max_wait))


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After value (seconds or an HTTP date) in seconds from now; None if unreadable."""
    if not retry_after:
        return None
    try:
        return float(retry_after)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return (when - datetime.now(UTC)).total_seconds()


def _describe(query: dict[str, str]) -> str:
    arguments = " ".join(f"{key}={value}" for key, value in query.items() if key != "verb")
    return f"{query['verb']} ({arguments})" if arguments else query["verb"]


_OAI_MESSAGES = {
    "BadArgument": "the endpoint rejected the arguments of {what} (badArgument: {text})",
    "BadResumptionToken": "the endpoint no longer accepts the resumption token of {what} "
                          "(badResumptionToken: {text}): it expired or the list changed",
    "CannotDisseminateFormat": "the endpoint does not offer metadata prefix {prefix!r} "
                               "(cannotDisseminateFormat: {text})",
    "IdDoesNotExist": "the endpoint has no such record: {what} (idDoesNotExist: {text})",
    "NoSetHierarchy": "the endpoint has no sets (noSetHierarchy: {text}): harvest without --set",
    "BadVerb": "the endpoint does not understand {what} (badVerb: {text})",
}


def oai_problem(error: oai_errors.OAIPMHException, target: Target, what: str) -> HarvestError:
    """An OAI-PMH <error> answer as a HarvestError with a message for the steward."""
    name = type(error).__name__
    text = str(error).strip() or "no explanation given"
    template = _OAI_MESSAGES.get(name, "OAI-PMH error answering {what}: {text}")
    message = f"{target.endpoint}: " + template.format(what=what, text=text, prefix=target.prefix)
    kind = {"BadResumptionToken": TokenRejected, "CannotDisseminateFormat": FormatRefused}
    return kind.get(name, HarvestError)(message)


# --- pages --------------------------------------------------------------------------------


@dataclass
class Page:
    """One response page, read."""

    url: str                         # the request that got it
    token: str | None                # the resumption token it was asked with (None: first)
    items: list[Item]
    next_token: str | None = None    # None: the list is complete
    latest: str | None = None        # the latest header datestamp on it
    size: int | None = None          # completeListSize, when the endpoint says
    cursor: int = 0                  # the position of its first record in the list
    fault: str | None = None         # why it could not be read whole
    stuck: bool = False              # malformed and its next token could not be recovered


def page_label(token: str | None) -> str:
    """How reports name a page."""
    return f"resumptionToken {token}" if token else "the first page"


def read_page(data: bytes, target: Target, token: str | None, url: str) -> Page:
    """A response page's records, next token and latest datestamp; a malformed page gives the
    records before the fault, a ReadError naming endpoint and token, and the recovered token."""
    where = f"harvested from {target.endpoint}, {page_label(token)}"
    try:
        root = oai_xml.parse_page(data)
    except etree.XMLSyntaxError:
        return _malformed(data, target, token, url, where)
    if etree.QName(root) != etree.QName(OAI, "OAI-PMH"):
        return _malformed(data, target, token, url, where)
    page = Page(url, token, [])
    for number, element in enumerate(_records(root), 1):
        identifier, datestamp = _header(element)
        source = target.record_url(identifier) if identifier else url
        item = oai_xml.parse_record(element, source, number, FORMAT)
        page.items.append(_located(item, where))
        page.latest = later(page.latest, datestamp)
    found = root.find(_TOKEN)
    if found is not None:
        page.next_token = (found.text or "").strip() or None
        size, cursor = found.get("completeListSize", ""), found.get("cursor", "")
        page.size = int(size) if size.isdigit() else None
        page.cursor = int(cursor) if cursor.isdigit() else 0
    return page


def _records(root: etree._Element) -> Iterator[etree._Element]:
    for path in _RECORDS:
        yield from root.iterfind(path)


def _header(record: etree._Element) -> tuple[str | None, str | None]:
    """A record's identifier and datestamp (None when missing or malformed)."""
    identifier = record.findtext(f"{{{OAI}}}header/{{{OAI}}}identifier")
    datestamp = (record.findtext(f"{{{OAI}}}header/{{{OAI}}}datestamp") or "").strip()
    return (identifier or "").strip() or None, datestamp if is_datestamp(datestamp) else None


def _located(item: Item, where: str) -> Item:
    """A ReadError's message saying which endpoint and page it came from."""
    return replace(item, message=f"{item.message} ({where})") if isinstance(item, ReadError) \
        else item


def _malformed(data: bytes, target: Target, token: str | None, url: str, where: str) -> Page:
    """What can be read of a malformed page: the records before the fault (as a file would
    be read), one ReadError for the page, and the next token if the bytes still show it."""
    items = list(oai_xml.read_bytes(data, url, FORMAT))
    fault = items.pop() if items and isinstance(items[-1], ReadError) \
        and items[-1].source_id is None else ReadError(url, None, FORMAT, "not an OAI-PMH page")
    recovered, next_token = _recover_token(data)
    outcome = ("the harvest went on with the page's resumption token" if recovered else
               "its resumption token cannot be recovered: the harvest stopped there")
    message = (f"malformed page from {target.endpoint} ({page_label(token)}): {fault.message}; "
               f"{len(items)} record(s) before the fault were read; {outcome}")
    kept = [_attributed(item, target, where) for item in items]
    return Page(url, token, [*kept, replace(fault, message=message)], next_token,
                fault=message, stuck=not recovered)


def _attributed(item: Item, target: Target, where: str) -> Item:
    """An item of a malformed page named like those of a well-formed one."""
    if item.source_id is None or _NO_IDENTIFIER.fullmatch(item.source_id):
        return _located(item, where)
    return _located(replace(item, source=target.record_url(item.source_id)), where)


def _recover_token(data: bytes) -> tuple[bool, str | None]:
    """(recovered, next token) from the bytes of a malformed page: its last complete
    <resumptionToken>, or none when the response is complete without one (the last page)."""
    found = _TOKEN_BYTES.findall(data)
    if found:
        text = unescape(found[-1].decode("utf-8", "replace")).strip()
        return True, text or None
    return bool(_RESPONSE_END.search(data)), None


# --- the harvest --------------------------------------------------------------------------


class Prefetch:
    """Pages fetched ahead, in a thread, while the ones before them are being loaded: the
    harvest waits for the endpoint only when the loader is faster. What the page iterator
    raises comes out after the pages it gave before; closing stops it."""

    def __init__(self, pages: Iterator[Page], depth: int = PREFETCH) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pages,), daemon=True,
                                        name="oai-prefetch")

    def __enter__(self) -> Iterator[Page]:
        self._thread.start()
        return self._pages()

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(1.0)  # a request under way ends with its timeout, or when the
        # client closes; the thread is a daemon and hands nothing on once stopped

    def _pages(self) -> Iterator[Page]:
        while True:
            kind, value = self._queue.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value

    def _run(self, pages: Iterator[Page]) -> None:
        try:
            for page in pages:
                if not self._put(("page", page)):
                    return
        except BaseException as error:  # handed to the loading thread, which raises it
            self._put(("error", error))
            return
        self._put(("end", None))

    def _put(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False



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


def counts(summary: LoadSummary) -> dict[str, int]:
    """A summary's counts by name."""
    return {f.name: getattr(summary, f.name) for f in fields(summary)
            if isinstance(getattr(summary, f.name), int)}


def add_summary(total: LoadSummary, part: LoadSummary) -> None:
    """Add one load's summary to a running total."""
    for item in fields(total):
        mine, theirs = getattr(total, item.name), getattr(part, item.name)
        if isinstance(mine, Counter):
            mine.update(theirs)
        elif isinstance(mine, list):
            mine.extend(theirs)
        elif isinstance(mine, int):
            setattr(total, item.name, mine + theirs)


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

    def harvest(self, window: Window = Window()) -> HarvestResult:
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
            add_summary(self.result.summary, self.loader.load(page.items))
            self._count([page])
        self.result.complete = True
        return self._done()

    def _identify(self, entry: Entry) -> None:
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

    def _open_run(self, entry: Entry, window: Window) -> Run:
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

    def _pages(self, entry: Entry, run: Run) -> None:
        """Feed the pages' records to the loader as one stream, as ``policykg load`` feeds a
        file's, and commit the pages the loader reports written."""
        ledger = Ledger()
        with Prefetch(self._stream(run)) as pages:
            items = self._items(pages, ledger)
            first = next(items, None)  # no record at all: the store is not even opened
            if first is not None:
                written = functools.partial(self._written, entry, run, ledger)
                summary = self.loader.load(itertools.chain([first], items), progress=written)
                add_summary(self.result.summary, summary)
        self._commit(entry, run, ledger.done(ledger.handed))  # pages of no records, if any
        run.counts = {name: self._base.get(name, 0) + value
                      for name, value in counts(self.result.summary).items()}
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

    def _written(self, entry: Entry, run: Run, ledger: Ledger, count: int) -> None:
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
            query = {"verb": "ListRecords", "metadataPrefix": self.target.prefix,
                     "from": run.from_date, "until": run.until, "set": self.target.set_spec}
            query = {key: value for key, value in query.items() if value}
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

    def _commit(self, entry: Entry, run: Run, pages: list[Page]) -> None:
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

    def _finish(self, entry: Entry, run: Run) -> None:
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

    def _stopped(self, entry: Entry, run: Run, error: BaseException) -> None:
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


# --- entry points -------------------------------------------------------------------------


def run_harvest(settings: Settings, target: Target, window: Window = Window(), *,
                mapping: str | None = None, identifier: str | None = None,
                progress: Any = None) -> HarvestResult:
    """Harvest a target into the settings' store (or one record of it, by OAI identifier)."""
    with OaiClient(target, settings) as client, ExitStack() as stack:
        def open_loader() -> Loader:
            try:
                store = stack.enter_context(open_store(settings.store_location, settings=settings))
            except OSError as error:
                raise HarvestError(f"cannot open the store {settings.store_location}: {error}"
                                   ) from error
            return Loader(store, Uris(settings.base), Mapping.load(mapping or settings.mapping),
                          Quarantine(settings.quarantine_dir), batch_size=settings.batch_size)

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


def _entry_lines(entry: Entry) -> list[str]:
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
