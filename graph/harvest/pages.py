"""The pages of a ListRecords answer: each parsed by the oai-xml reader (the code that reads
exported files) into records, or, when malformed, into an unreadable-input error that names the
endpoint and the page's token, with the token recovered from the bytes when it can be; pages
fetched ahead of the loader in a thread (``Prefetch``).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from xml.sax.saxutils import unescape

from lxml import etree

from policykg.graph.harvest.client import OAI, Target, is_datestamp, later
from policykg.graph.readers import Item, oai_xml
from policykg.graph.readers.record import ReadError

FORMAT = "oai-pmh"
PREFETCH = 32  # pages fetched ahead of the loader at most
_RECORDS = (f"{{{OAI}}}ListRecords/{{{OAI}}}record", f"{{{OAI}}}GetRecord/{{{OAI}}}record")
_TOKEN = f"{{{OAI}}}ListRecords/{{{OAI}}}resumptionToken"
_TOKEN_BYTES = re.compile(
    rb"<(?:[\w.-]+:)?resumptionToken\b[^>]*?(?:/>|>([^<]*)</(?:[\w.-]+:)?resumptionToken>)")
_RESPONSE_END = re.compile(rb"</(?:[\w.-]+:)?OAI-PMH>\s*$")
_NO_IDENTIFIER = re.compile(r"record \d+")


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
    assert isinstance(fault, ReadError)  # the last item only when it is one
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
