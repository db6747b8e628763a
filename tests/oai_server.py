"""A small OAI-PMH 2.0 repository for the harvest tests and benchmark.

``Repository`` holds records in memory (identifier, datestamp, sets, DSpace fields, deleted)
and ``Repository.app`` answers Identify, ListMetadataFormats, ListSets, ListRecords and
GetRecord in ``dim``, ``oai_dc`` and ``qdc`` (each written from the same fields, as DSpace's
crosswalks write them) as a WSGI app: ``page_size`` records a page, stateless
resumption tokens (like DSpace's), from/until/set filtering at the repository's granularity
(seconds or days), deleted records kept (deletedRecord "persistent"), OAI-PMH errors for bad
requests. ``serve(repository)`` runs it on 127.0.0.1 in a thread (werkzeug).

Switches for the failure tests (each applies to the next requests, then is spent):
``unavailable(count, retry_after)`` answers 503 + Retry-After; ``fail(count, status)`` a
plain-text 5xx; ``delay(seconds, count)`` answers late; ``break_page(cursor, mode)`` serves
the ListRecords page starting at ``cursor`` malformed once ("garble": a tag of its second
record mangled, the resumption token intact; "truncate": cut in half); ``expire_tokens()``
refuses every token issued so far. ``log`` lists every request's arguments and status.

The records, how each format writes them, ListRecords files for ``policykg load`` and synthetic
records are tests/oai_records.py's.

    python tests/oai_server.py --records 20000 --page-size 100 [--files DIR]  # prints its URL
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from oai_records import (
    DAY,
    DCTERMS,
    DIM,
    OAI,
    OAI_DC,
    SECONDS,
    START,
    OaiRecord,
    Row,
    render,
    synthetic_records,
    write_files,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

FORMATS = {
    "dim": (DIM, "http://www.dspace.org/schema/dim.xsd"),
    "oai_dc": (OAI_DC, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
    "qdc": (DCTERMS, "http://dublincore.org/schemas/xmls/qdc/2006/01/06/dcterms.xsd"),
}
ARGUMENTS = {
    "Identify": set(),
    "ListMetadataFormats": {"identifier"},
    "ListSets": {"resumptionToken"},
    "ListRecords": {"metadataPrefix", "from", "until", "set", "resumptionToken"},
    "GetRecord": {"identifier", "metadataPrefix"},
}

class OaiError(Exception):
    """An OAI-PMH error answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Fault:
    """A switch: what to do to the next matching requests."""

    kind: str
    count: int = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    cursor: int = 0
    mode: str = "garble"
    after: int = 0                   # requests let through first


@dataclass
class Repository:
    """The records and the switches; ``app`` is the WSGI application."""

    records: dict[str, OaiRecord] = field(default_factory=dict)
    page_size: int = 5
    granularity: str = SECONDS
    formats: tuple[str, ...] = ("dim", "oai_dc", "qdc")
    base_url: str = "http://127.0.0.1/oai"
    generation: int = 1
    faults: list[Fault] = field(default_factory=list)
    log: list[dict[str, str]] = field(default_factory=list)

    # --- content ---------------------------------------------------------------------------

    def add(self, records: Iterable[OaiRecord]) -> None:
        """Add (or replace) records."""
        for record in records:
            self.records[record.identifier] = record

    def latest(self) -> datetime:
        """The latest datestamp in the repository."""
        return max(record.datestamp for record in self.records.values())

    def change(self, identifier: str, rows: list[Row] | None = None,
               at: datetime | None = None) -> OaiRecord:
        """Change a record (same rows: only its datestamp moves), a minute after the latest."""
        record = self.records[identifier]
        record.rows = list(rows if rows is not None else record.rows)
        record.datestamp = at or self.latest() + timedelta(minutes=1)
        return record

    def delete(self, identifier: str, at: datetime | None = None) -> None:
        """Withdraw a record: it stays, as a deleted record."""
        record = self.change(identifier, [], at)
        record.deleted = True

    # --- switches --------------------------------------------------------------------------

    def unavailable(self, count: int = 1, retry_after: str | None = "1", after: int = 0) -> None:
        """Answer ``count`` requests (after the next ``after``) with 503 and Retry-After."""
        self.faults.append(Fault("status", count, 503, retry_after, after=after))

    def fail(self, count: int = 1, status: int = 500, after: int = 0) -> None:
        """Answer ``count`` requests (after the next ``after``) with a plain-text error."""
        self.faults.append(Fault("status", count, status, after=after))

    def delay(self, seconds: float, count: int = 1, after: int = 0) -> None:
        """Answer ``count`` requests (after the next ``after``) ``seconds`` late."""
        self.faults.append(Fault("delay", count, seconds=seconds, after=after))

    def break_page(self, cursor: int, mode: str = "garble") -> None:
        """Serve the ListRecords page starting at ``cursor`` malformed, once."""
        self.faults.append(Fault("break", cursor=cursor, mode=mode))

    def expire_tokens(self) -> None:
        """Refuse every resumption token issued so far."""
        self.generation += 1

    def requests(self, verb: str = "ListRecords") -> list[dict[str, str]]:
        """The logged requests of one verb."""
        return [entry for entry in self.log if entry.get("verb") == verb]

    # --- WSGI ------------------------------------------------------------------------------

    def app(self, environ: dict, start_response) -> Iterable[bytes]:
        """The WSGI application; each request is logged as it arrives, its status after."""
        request = Request(environ)
        arguments = {key: request.values.get(key, "") for key in request.values}
        entry = {**arguments, "time": f"{time.monotonic():.3f}"}
        self.log.append(entry)
        response = self._respond(arguments)
        entry["status"] = str(response.status_code)
        return response(environ, start_response)

    def _respond(self, arguments: dict[str, str]) -> Response:
        fault = self._fault("status") or self._fault("delay")
        for waiting in self.faults:
            if waiting.kind != "break" and waiting.after > 0:
                waiting.after -= 1
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        elif fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return Response(f"error {fault.status}\n", fault.status, headers,
                            mimetype="text/plain")
        try:
            body = self._broken(self._answer(arguments), arguments)
        except OaiError as error:
            body = self._envelope(arguments, f'<error code="{error.code}">'
                                             f"{escape(str(error))}</error>", echo=False)
        return Response(body, 200, mimetype="text/xml")

    def _fault(self, kind: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind and fault.count > 0 and fault.after == 0:
                fault.count -= 1
                return fault
        return None

    def _answer(self, arguments: dict[str, str]) -> bytes:
        verb = arguments.get("verb", "")
        if verb not in ARGUMENTS:
            raise OaiError("badVerb", f"illegal verb {verb!r}")
        unknown = set(arguments) - ARGUMENTS[verb] - {"verb"}
        if unknown:
            raise OaiError("badArgument", f"illegal arguments: {', '.join(sorted(unknown))}")
        content = getattr(self, f"_{verb}")(arguments)
        return self._envelope(arguments, content)

    def _envelope(self, arguments: dict[str, str], content: str, echo: bool = True) -> bytes:
        attributes = "".join(f" {key}={quoteattr(value)}" for key, value in arguments.items()
                             if echo)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<OAI-PMH xmlns="{OAI}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
            f"<responseDate>{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}</responseDate>\n"
            f"<request{attributes}>{escape(self.base_url)}</request>\n{content}</OAI-PMH>\n"
        ).encode()

    # --- verbs -----------------------------------------------------------------------------

    def _Identify(self, arguments: dict[str, str]) -> str:
        earliest = min((r.datestamp for r in self.records.values()), default=START)
        return (
            "<Identify><repositoryName>policykg test repository</repositoryName>"
            f"<baseURL>{escape(self.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            "<adminEmail>steward@example.org</adminEmail>"
            f"<earliestDatestamp>{self._stamp(earliest)}</earliestDatestamp>"
            f"<deletedRecord>persistent</deletedRecord><granularity>{self.granularity}"
            "</granularity></Identify>\n"
        )

    def _ListMetadataFormats(self, arguments: dict[str, str]) -> str:
        if "identifier" in arguments:
            self._record(arguments["identifier"])
        formats = "".join(
            f"<metadataFormat><metadataPrefix>{prefix}</metadataPrefix><schema>{schema}</schema>"
            f"<metadataNamespace>{namespace}</metadataNamespace></metadataFormat>"
            for prefix, (namespace, schema) in FORMATS.items() if prefix in self.formats)
        return f"<ListMetadataFormats>{formats}</ListMetadataFormats>\n"

    def _ListSets(self, arguments: dict[str, str]) -> str:
        specs = sorted({spec for record in self.records.values() for spec in record.sets})
        sets = "".join(f"<set><setSpec>{spec}</setSpec><setName>{spec}</setName></set>"
                       for spec in specs)
        return f"<ListSets>{sets}</ListSets>\n"

    def _GetRecord(self, arguments: dict[str, str]) -> str:
        prefix = self._prefix(arguments)
        record = self._record(arguments.get("identifier", ""))
        return f"<GetRecord>{render(record, prefix, self.granularity)}</GetRecord>\n"

    def _ListRecords(self, arguments: dict[str, str]) -> str:
        query = self._query(arguments)
        selected = self._select(query)
        cursor = int(query["cursor"])
        if not selected or cursor >= len(selected):
            raise OaiError("noRecordsMatch", "no records match the request")
        page = selected[cursor:cursor + self.page_size]
        body = "".join(render(record, query["prefix"], self.granularity) for record in page)
        following = cursor + self.page_size
        token = self._token({**query, "cursor": str(following)}) if following < len(selected) \
            else ""
        body += (f'<resumptionToken completeListSize="{len(selected)}" cursor="{cursor}">'
                 f"{escape(token)}</resumptionToken>")
        return f"<ListRecords>{body}</ListRecords>\n"

    # --- helpers ---------------------------------------------------------------------------

    def _prefix(self, arguments: dict[str, str]) -> str:
        prefix = arguments.get("metadataPrefix", "")
        if not prefix:
            raise OaiError("badArgument", "metadataPrefix is required")
        if prefix not in self.formats:
            raise OaiError("cannotDisseminateFormat", f"{prefix!r} is not supported")
        return prefix

    def _record(self, identifier: str) -> OaiRecord:
        if identifier not in self.records:
            raise OaiError("idDoesNotExist", f"no item {identifier!r}")
        return self.records[identifier]

    def _query(self, arguments: dict[str, str]) -> dict[str, str]:
        token = arguments.get("resumptionToken")
        if token is not None:
            if set(arguments) != {"verb", "resumptionToken"}:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument")
            return self._untoken(token)
        prefix = self._prefix(arguments)
        for name in ("from", "until"):
            if name in arguments:
                self._moment(arguments[name], name == "until")
        if {"from", "until"} <= set(arguments) \
                and len(arguments["from"]) != len(arguments["until"]):
            raise OaiError("badArgument", "from and until have different granularities")
        return {"prefix": prefix, "from": arguments.get("from", ""),
                "until": arguments.get("until", ""), "set": arguments.get("set", ""),
                "cursor": "0"}

    def _select(self, query: dict[str, str]) -> list[OaiRecord]:
        low = self._moment(query["from"], False) if query["from"] else None
        high = self._moment(query["until"], True) if query["until"] else None
        return [
            record for record in self.records.values()
            if (low is None or self._shown(record) >= low)
            and (high is None or self._shown(record) <= high)
            and (not query["set"] or query["set"] in record.sets)
        ]

    def _shown(self, record: OaiRecord) -> datetime:
        """A record's datestamp as the repository exposes it (days: midnight)."""
        if self.granularity == DAY:
            return record.datestamp.replace(hour=0, minute=0, second=0)
        return record.datestamp

    def _moment(self, text: str, end: bool) -> datetime:
        try:
            if len(text) == 10:
                day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
                if end and self.granularity != DAY:
                    return day + timedelta(days=1, seconds=-1)
                return day
            if self.granularity == DAY:
                raise ValueError("seconds on a day-granularity repository")
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as error:
            raise OaiError("badArgument", f"illegal date {text!r}: {error}") from None

    def _stamp(self, moment: datetime) -> str:
        return f"{moment:%Y-%m-%d}" if self.granularity == DAY else f"{moment:%Y-%m-%dT%H:%M:%SZ}"

    def _token(self, query: dict[str, str]) -> str:
        fields = (query["prefix"], query["from"], query["until"], query["set"], query["cursor"])
        return "!".join((str(self.generation), *fields))

    def _untoken(self, token: str) -> dict[str, str]:
        parts = token.split("!")
        if len(parts) != 6 or parts[0] != str(self.generation) or not parts[5].isdigit():
            raise OaiError("badResumptionToken", f"the token {token!r} is invalid or expired")
        return dict(zip(("prefix", "from", "until", "set", "cursor"), parts[1:], strict=True))

    def _broken(self, body: bytes, arguments: dict[str, str]) -> bytes:
        """A ListRecords answer made malformed when a break_page switch names its cursor."""
        if arguments.get("verb") != "ListRecords":
            return body
        cursor = int(self._query(arguments)["cursor"])
        for fault in self.faults:
            if fault.kind == "break" and fault.count > 0 and fault.cursor == cursor:
                fault.count -= 1
                if fault.mode == "truncate":
                    return body[: len(body) // 2]
                second = body.find(b"<record>", body.find(b"<record>") + 1)
                return body[:second] + body[second:].replace(b"</header>", b"</headr>", 1)
        return body


# --- serving ------------------------------------------------------------------------------


@dataclass
class Running:
    """A repository served on 127.0.0.1."""

    repository: Repository
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """The endpoint's base URL."""
        return f"http://127.0.0.1:{self.server.server_port}/oai"

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


class _Quiet(WSGIRequestHandler):
    """No access log (the repository keeps its own)."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


def serve(repository: Repository, port: int = 0) -> Running:
    """Serve a repository on 127.0.0.1 (a free port by default), in a thread."""
    server = make_server("127.0.0.1", port, repository.app, threaded=True,
                         request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="oai-server")
    thread.start()
    running = Running(repository, server, thread)
    repository.base_url = running.url
    return running


def main(argv: list[str] | None = None) -> int:
    """Serve synthetic records until killed; print the endpoint URL first."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid-rate", type=float, default=0.03)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--files", type=Path, help="Also write the records here as files.")
    args = parser.parse_args(argv)
    records = synthetic_records(args.records, args.seed, args.invalid_rate)
    if args.files:
        write_files(records, args.files)
    repository = Repository(page_size=args.page_size)
    repository.add(records)
    running = serve(repository, args.port)
    print(running.url, flush=True)
    try:
        running.thread.join()
    except KeyboardInterrupt:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
