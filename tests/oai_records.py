"""The records of the OAI-PMH repository that the harvest tests and benchmark serve
(tests/oai_server.py): ``OaiRecord``, written in ``dim``, ``oai_dc`` or ``qdc`` as DSpace's
crosswalks write them (``render``), as ListRecords files for ``policykg load``
(``write_files``), and synthetic records from bench/synthetic.py's generator
(``synthetic_records``).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[1]
OAI = "http://www.openarchives.org/OAI/2.0/"
DIM = "http://www.dspace.org/xmlns/dspace/dim"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
QDC = "http://dspace.org/qualifieddc/"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAY = "YYYY-MM-DD"
START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


# DSpace 7/8's qdc.xsl (dspace/config/crosswalks/oai/metadataFormats), in its order: each
# element and the dc.* fields it is written from, by element and qualifier: None unqualified
# only, "+" qualified only, "author" that qualifier, "!author" any other (no bitstreams here,
# so no dc:format).
QDC_CROSSWALK: tuple[tuple[str, str, str | None], ...] = (
    ("dc:title", "title", None), ("dc:creator", "creator", None),
    ("dc:creator", "contributor", "author"), ("dc:contributor", "contributor", "!author"),
    ("dc:subject", "subject", None), ("dcterms:abstract", "description", "abstract"),
    ("dcterms:dateAccepted", "date", "available"), ("dcterms:available", "date", "available"),
    ("dcterms:created", "date", "available"), ("dcterms:issued", "date", "issued"),
    ("dc:type", "type", None), ("dc:identifier", "identifier", "+"),
    ("dc:language", "language", "+"), ("dc:relation", "relation", "+"),
    ("dc:relation", "relation", None), ("dc:rights", "rights", "+"), ("dc:rights", "rights", None),
    ("dc:coverage", "coverage", None), ("dc:coverage", "coverage", "+"),
    ("dc:publisher", "publisher", None), ("dc:publisher", "publisher", "+"),
    ("dc:source", "source", None), ("dc:source", "source", "+"),
)


Row = tuple[str, str, str | None]


@dataclass
class OaiRecord:
    """One item of the repository."""

    identifier: str
    datestamp: datetime
    rows: list[Row]
    sets: tuple[str, ...] = ()
    deleted: bool = False


# --- rendering ----------------------------------------------------------------------------


def render(record: OaiRecord, prefix: str, granularity: str = SECONDS) -> str:
    """One <record> element in a metadata format."""
    stamp = record.datestamp.strftime("%Y-%m-%d" if granularity == DAY else "%Y-%m-%dT%H:%M:%SZ")
    status = ' status="deleted"' if record.deleted else ""
    sets = "".join(f"<setSpec>{escape(spec)}</setSpec>" for spec in record.sets)
    header = (f"<header{status}><identifier>{escape(record.identifier)}</identifier>"
              f"<datestamp>{stamp}</datestamp>{sets}</header>")
    if record.deleted:
        return f"<record>{header}</record>\n"
    payload = {"dim": _dim, "oai_dc": _oai_dc, "qdc": _qdc}[prefix](record.rows)
    return f"<record>{header}<metadata>{payload}</metadata></record>\n"


def _dim(rows: list[Row]) -> str:
    fields = []
    for name, value, lang in rows:
        schema, element, *qualifier = name.split(".", 2)
        attributes = f' mdschema="{schema}" element="{element}"'
        attributes += f' qualifier="{qualifier[0]}"' if qualifier else ""
        attributes += f" lang={quoteattr(lang)}" if lang else ""
        fields.append(f"<dim:field{attributes}>{escape(value)}</dim:field>")
    return f'<dim:dim xmlns:dim="{DIM}">{"".join(fields)}</dim:dim>'


def _oai_dc(rows: list[Row]) -> str:
    """Simple Dublin Core as DSpace's crosswalk writes it: dc.* only, qualifiers dropped."""
    elements = []
    for name, value, lang in rows:
        schema, element, *_ = name.split(".")
        if schema != "dc":
            continue
        element = "creator" if name == "dc.contributor.author" else element
        language = f" xml:lang={quoteattr(lang)}" if lang else ""
        elements.append(f"<dc:{element}{language}>{escape(value)}</dc:{element}>")
    return (f'<oai_dc:dc xmlns:oai_dc="{OAI_DC}" xmlns:dc="{DC}">'
            f'{"".join(elements)}</oai_dc:dc>')


def _written(rule: str | None, qualifier: str | None) -> bool:
    """Whether a qdc.xsl qualifier rule (see QDC_CROSSWALK) takes a field's qualifier."""
    if rule is None or qualifier is None:
        return rule is None and qualifier is None
    return rule == "+" or rule == qualifier or (rule.startswith("!") and rule[1:] != qualifier)


def _qdc(rows: list[Row]) -> str:
    """Qualified Dublin Core as DSpace's qdc.xsl writes it: no languages, lossy (see
    QDC_CROSSWALK)."""
    split = [(name.split(".", 2), value) for name, value, _ in rows]
    elements = [
        f"<{tag}>{escape(value)}</{tag}>"
        for tag, element, rule in QDC_CROSSWALK
        for (schema, field_element, *qualifier), value in split
        if schema == "dc" and field_element == element
        and _written(rule, qualifier[0] if qualifier else None)
    ]
    return (f'<qdc:qualifieddc xmlns:qdc="{QDC}" xmlns:dc="{DC}" xmlns:dcterms="{DCTERMS}">'
            f'{"".join(elements)}</qdc:qualifieddc>')


def write_files(records: Iterable[OaiRecord], folder: Path, prefix: str = "dim",
                per_file: int = 1000) -> list[Path]:
    """The records as ListRecords files (no tokens), for ``policykg load``."""
    folder.mkdir(parents=True, exist_ok=True)
    records, paths = list(records), []
    for number, first in enumerate(range(0, len(records), per_file), 1):
        body = "".join(render(record, prefix) for record in records[first:first + per_file])
        path = folder / f"records-{number:05d}.xml"
        path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                        f'<OAI-PMH xmlns="{OAI}"><ListRecords>\n{body}</ListRecords></OAI-PMH>\n',
                        encoding="utf-8")
        paths.append(path)
    return paths


# --- records ------------------------------------------------------------------------------


@functools.cache
def _synthetic():
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synthetic", module)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _rows(count: int, seed: int, invalid_rate: float) -> tuple[tuple[Row, ...], ...]:
    generator = _synthetic().Generator(count, seed, invalid_rate)
    return tuple(tuple(generator.fields(index)[0]) for index in range(count))


def synthetic_records(count: int, seed: int = 1, invalid_rate: float = 0.0,
                      start: datetime = START, sets: int = 3) -> list[OaiRecord]:
    """``count`` records of bench/synthetic.py's generator, a minute apart from ``start``,
    each in one of ``sets`` collections (col_11319_0, col_11319_1 ...)."""
    return [
        OaiRecord(f"oai:publications.iadb.org:11319/{1000 + index}",
                  start + timedelta(minutes=index), list(rows),
                  (f"col_11319_{index % sets}",))
        for index, rows in enumerate(_rows(count, seed, invalid_rate))
    ]
