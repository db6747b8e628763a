"""HTTP to a remote store: queries on a urllib3 pool of kept-alive connections (the web app's
hot path, no credentials), writes (updates, uploads) through httpx with the credentials
attached; every failure turned into StoreUnavailable, StoreTimeout, StoreError or ValueError
naming the store by its host only.
"""

from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

import httpx2 as httpx
import pyoxigraph as ox
import urllib3

from policykg.graph.store.interface import StoreError, StoreTimeout, StoreUnavailable

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"
FORM = "application/x-www-form-urlencoded"
ERROR_TEXT = 300         # characters of a store's error message passed on
CHUNK = 64 * 1024        # bytes read at a time from a streamed answer


# --- configuration -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoints:
    """Where a remote store answers, as whom, and how long a request may take."""

    query: str
    update: str
    graph_store: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "digest"
    timeout: float = 60.0
    write: str = "auto"          # auto (Virtuoso's loader on Virtuoso, else GSP), virtuoso, gsp
    page_size: int = 10_000

    @property
    def host(self) -> str:
        """The store's host and port, the only part of its address messages show."""
        return urlsplit(self.query).netloc.rsplit("@", 1)[-1]


def parse_location(location: str) -> str:
    """The query endpoint URL of a ``sparql+http(s)://`` location (no credentials in it)."""
    url = location.removeprefix("sparql+")
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValueError("the store address must not hold credentials: give them as the "
                         "settings store_user and store_password (POLICYKG_STORE_PASSWORD)")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("a remote store is sparql+http://HOST:PORT/PATH (or sparql+https://)")
    return url


def password_of(settings: Any) -> str | None:
    if settings.store_password:
        return settings.store_password
    if settings.store_password_file:
        with open(settings.store_password_file, encoding="utf-8") as handle:
            return handle.read().strip()
    return None


# --- HTTP: queries ------------------------------------------------------------------------------
#
# Queries, the web app's hot path, go over urllib3's pool of keep-alive connections (one pool per
# process: a forked worker makes its own), cheaper than httpx, whose request and response models
# cost more than the exchange itself (bench/remote.py). They carry no
# credentials. Writes, which do (digest authentication) and send multipart uploads, go over
# httpx (``WriteClient``): they are few and large.

IDLE_CONNECTIONS = 16    # kept-alive query connections a process keeps for reuse


class QueryClient:
    """Query requests on a urllib3 pool of kept-alive connections to the query endpoint. The
    pool replaces a kept connection the store has closed before using it; a connection closed
    while a request was on its way (no answer at all) gets the query once more, on a new
    connection (a query changes nothing); a time-out is never retried."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.url = endpoints.query
        parts = urlsplit(endpoints.query)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host = endpoints.host
        self._pool: urllib3.HTTPConnectionPool | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def request(self, method: str, fields: dict[str, str], accept: str,
                timeout: float) -> QueryReply:
        """Send a query (GET: the fields in the URL; POST: as a form) and read the answer's
        status line and headers; StoreTimeout / StoreUnavailable when the store does not
        answer (never naming more of it than its host)."""
        headers = {"Accept": accept, "User-Agent": "policykg"}
        form = urlencode(fields)
        target, body = self.target, None
        if method == "GET":
            target = f"{target}{'&' if '?' in target else '?'}{form}"
        else:
            body = form.encode("ascii")
            headers["Content-Type"] = FORM
        limits = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        for attempt in (1, 2):
            try:
                return QueryReply(self._get().urlopen(
                    method, target, body=body, headers=headers, timeout=limits, retries=False,
                    redirect=False, preload_content=False))
            except urllib3.exceptions.NewConnectionError as error:
                raise StoreUnavailable(f"the store at {self.host} is not reachable "
                                       f"({_reason(error)})") from None
            except urllib3.exceptions.TimeoutError:
                raise StoreTimeout(f"the store at {self.host} did not answer within "
                                   f"{timeout:g} s") from None
            except urllib3.exceptions.HTTPError as error:
                if attempt == 1 and isinstance(error, urllib3.exceptions.ProtocolError):
                    continue  # closed under the request, without an answer: once more, anew
                raise StoreUnavailable(f"the store at {self.host} is not reachable "
                                       f"({_reason(error)})") from None
        raise AssertionError("unreachable")

    def _get(self) -> urllib3.HTTPConnectionPool:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():  # forked: not the parent's
                self._pool = urllib3.connection_from_url(self.url, maxsize=IDLE_CONNECTIONS,
                                                         block=False)
                self._pid = os.getpid()
            return self._pool

    def close(self) -> None:
        """Close the idle connections (those in use close when their answer is read)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()


class QueryReply:
    """The store's answer to a query: status, headers, then the body, read whole or in chunks.
    Read to its end, its connection goes back to the pool; closed before, it is closed."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.response = response
        self.status_code = response.status
        self._open = True

    def header(self, name: str) -> str:
        return self.response.headers.get(name) or ""

    def read(self, size: int = -1) -> bytes:
        """The rest of the body (``size`` bytes at most: b"" at its end)."""
        try:
            data = self.response.read(None if size < 0 else size)
        except urllib3.exceptions.TimeoutError:
            self.close()
            raise StoreTimeout("the store stopped sending its answer") from None
        except urllib3.exceptions.HTTPError as error:
            self.close()
            raise StoreUnavailable(f"reading the store's answer failed ({_reason(error)})") \
                from None
        if size < 0 or not data:
            self._release()
        return data

    def text(self) -> str:
        """The body as text (an error message), or "" when it cannot be read."""
        try:
            return self.read().decode("utf-8")
        except (StoreError, UnicodeDecodeError):
            return ""

    def _release(self) -> None:
        if self._open:
            self._open = False
            self.response.release_conn()

    def close(self) -> None:
        """Drop the answer: its connection, unless it was read to its end, is closed."""
        if self._open:
            self._open = False
            self.response.close()
            self.response.release_conn()


# --- HTTP: writes ------------------------------------------------------------------------------

class WriteClient:
    """Writes (updates, Virtuoso's loader, the Graph Store Protocol): one httpx client per
    process (a forked worker makes its own), with the credentials attached."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._client: httpx.Client | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                # identity: Virtuoso gzips when asked to, and then closes every connection
                self._client = httpx.Client(trust_env=False, follow_redirects=False,
                                            headers={"User-Agent": "policykg",
                                                     "Accept-Encoding": "identity"})
                self._pid = os.getpid()
            return self._client

    def auth(self) -> httpx.Auth | None:
        endpoints = self.endpoints
        if endpoints.user is None:
            return None
        password = endpoints.password or ""
        if endpoints.auth == "basic":
            return httpx.BasicAuth(endpoints.user, password)
        return httpx.DigestAuth(endpoints.user, password)

    def send(self, method: str, url: str, *, timeout: float, what: str,
             **arguments: Any) -> None:
        """One write, its failures turned into StoreUnavailable / StoreTimeout (never naming
        more of the store than its host) and its refusals into errors (``_check``)."""
        client = self.get()
        limit = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        request = client.build_request(method, url, timeout=limit, **arguments)
        try:
            response = client.send(request, auth=self._auth)
        except httpx.TimeoutException:
            raise StoreTimeout(f"the store at {self.endpoints.host} did not answer within "
                               f"{timeout:g} s") from None
        except httpx.TransportError as error:
            raise StoreUnavailable(f"the store at {self.endpoints.host} is not reachable "
                                   f"({_reason(error)})") from None
        check_answer(response.status_code, response.text, self.endpoints.host, what)

    @property
    def _auth(self) -> httpx.Auth | None:
        auth = getattr(self, "_cached_auth", None)
        if auth is None:
            auth = self._cached_auth = self.auth()
        return auth

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None


def _reason(error: Exception) -> str:
    """A transport error in a few words, without addresses."""
    names = {urllib3.exceptions.NameResolutionError: "its host name is not known",
             httpx.ConnectError: "connection refused or failed",
             urllib3.exceptions.NewConnectionError: "connection refused or failed",
             httpx.RemoteProtocolError: "it closed the connection",
             urllib3.exceptions.ProtocolError: "it closed the connection",
             httpx.ReadError: "reading its answer failed", httpx.WriteError: "sending failed"}
    for kind, text in names.items():
        if isinstance(error, kind):
            return text
    return type(error).__name__


def check_answer(status: int, body: str | Any, host: str, what: str) -> None:
    """Raise for an answer that is not a success: 401/403 (credentials), 5xx, 4xx. ``body``
    is the answer's text, or a callable reading it (read only for a failure)."""
    if status < 300:
        return
    text = _error_text(body() if callable(body) else body)
    if status in (401, 403):
        raise StoreError(f"the store at {host} refused the credentials for {what} "
                         f"(HTTP {status}): check store_user and store_password")
    if status == 503:
        raise StoreUnavailable(f"the store at {host} is unavailable (HTTP 503)")
    if "estimated execution time" in text or "Transaction timed out" in text:
        raise StoreTimeout(f"the store at {host} stopped the {what}: {text}")
    if 400 <= status < 500:
        raise ValueError(f"the store at {host} refused the {what} (HTTP {status}): {text}")
    raise StoreError(f"the store at {host} failed the {what} (HTTP {status}): {text}")


def _error_text(text: str) -> str:
    """The store's error message, short: up to the query it quotes back."""
    text = re.split(r"\n\s*SPARQL (query|request):", text, maxsplit=1)[0]
    text = re.sub(r"<[^>]+>", " ", text) if "<html" in text.lower() else text
    return " ".join(text.split())[:ERROR_TEXT]


class StreamedAnswer(io.RawIOBase):
    """A streamed answer as a binary file for pyoxigraph's parsers, with an optional rewrite of
    a byte pattern (found whole across chunk boundaries); the answer is closed when read to its
    end (its connection reused), or when the file is closed or dropped (a parse abandoned)."""

    def __init__(self, reply: QueryReply, pattern: bytes | None = None,
                 replacement: bytes = b"") -> None:
        super().__init__()
        self.reply = reply
        self.pending = b""
        self.carry = b""
        self.pattern = pattern
        self.replacement = replacement
        self.finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending and not self.finished:
            self._fill()
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def _fill(self) -> None:
        chunk = self.reply.read(CHUNK)
        if not chunk:
            self.finished = True
            self.reply.close()
        if self.pattern is None:
            self.pending += chunk
            return
        raw = self.carry + chunk
        width = len(self.pattern)
        cut = len(raw) if self.finished else max(0, len(raw) - width + 1)
        straddling = raw.find(self.pattern, max(0, cut - width + 1))
        if 0 <= straddling < cut:
            cut = straddling + width
        self.pending += raw[:cut].replace(self.pattern, self.replacement)
        self.carry = raw[cut:]

    def close(self) -> None:
        if not self.closed:
            self.reply.close()
        super().close()


def triples_answer(body: IO[bytes], media: str) -> ox.QueryTriples:
    """A CONSTRUCT/DESCRIBE answer as pyoxigraph's QueryTriples (through a store in memory)."""
    formats = {N_TRIPLES: ox.RdfFormat.N_TRIPLES, "text/plain": ox.RdfFormat.N_TRIPLES,
               "text/turtle": ox.RdfFormat.TURTLE, "application/rdf+xml": ox.RdfFormat.RDF_XML}
    rdf_format = formats.get(media)
    if rdf_format is None:
        body.close()
        raise StoreError(f"the store answered a CONSTRUCT with {media or 'no content type'}")
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
                 for q in ox.parse(body, rdf_format))
    result = store.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(result, ox.QueryTriples)  # a CONSTRUCT's
    return result
