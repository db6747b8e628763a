"""The OAI-PMH client: one endpoint, set and metadata prefix (``Target``), a date window
(``Window``), and requests that time out, wait for Retry-After on 503, retry network errors and
other 5xx with exponential backoff a bounded number of times, and turn OAI-PMH errors into
messages that say what to do.
"""

from __future__ import annotations

import email.utils
import itertools
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlencode

import httpx2
from lxml import etree
from oaipmh_scythe import Scythe
from oaipmh_scythe import exceptions as oai_errors
from oaipmh_scythe.config import HTTPConfig, RetryConfig
from oaipmh_scythe.models import MetadataFormat

from policykg.graph.config import Settings
from policykg.graph.readers import oai_xml

if TYPE_CHECKING:
    from policykg.graph.harvest.harvester import HarvestResult

OAI = oai_xml.OAI_NS
READABLE_PREFIXES = oai_xml.PAYLOADS
DAY = "YYYY-MM-DD"
_DATESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?")
T = TypeVar("T")


class HarvestError(Exception):
    """A harvest that cannot go on; the state is kept, the next run goes on from it.
    ``result`` is what the run did before it stopped, when it got that far."""

    result: HarvestResult | None = None


class TokenRejected(HarvestError):
    """The endpoint answered badResumptionToken."""


class FormatRefused(HarvestError):
    """The endpoint answered cannotDisseminateFormat."""


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


ANY_TIME = Window()  # no from, no until: what changed since the last run


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

        answer = self._call("Identify", ask)
        assert answer is not None  # noRecordsMatch answers ListRecords only
        return answer

    def formats(self) -> list[str]:
        """The metadata prefixes the endpoint offers."""
        def ask() -> list[str]:
            prefixes = []
            for item in self.scythe.list_metadata_formats():
                assert isinstance(item, MetadataFormat)  # Scythe's item iterator (the default)
                prefixes.append(str(item.metadataPrefix))
            return prefixes

        offered = self._call("ListMetadataFormats", ask)
        assert offered is not None  # noRecordsMatch answers ListRecords only
        return offered

    def fetch(self, query: dict[str, str]) -> bytes | None:
        """One response page's bytes; None when the endpoint says noRecordsMatch."""
        response = self._call(_describe(query), lambda: self.scythe.harvest(query))
        return None if response is None else response.http_response.content

    def _call(self, what: str, request: Callable[[], T]) -> T | None:
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
