"""The sample record's files in every format (tests/fixtures) and small helpers that write and
read input files, shared by the readers' tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from policykg.graph.readers import canonical_field, read
from policykg.graph.readers.record import ReadError, Record

FIXTURES = Path(__file__).parent / "fixtures"
PAGE = FIXTURES / "dspace-page-IDB-LM-00577.txt"
DIM = FIXTURES / "oai-dim-IDB-LM-00577.xml"
OAI_DC = FIXTURES / "oai_dc-IDB-LM-00577.xml"
QDC = FIXTURES / "qdc-IDB-LM-00577.xml"
CSV = FIXTURES / "dspace-csv-IDB-LM-00577.csv"
JSON = FIXTURES / "rest-IDB-LM-00577.json"
TITLE = (
    "Mainstreaming the Cluster Approach in the Caribbean Region: "
    "The CCPF Cluster Capacity Building Initiative"
)
OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>\n'
)
OAI_TAIL = "</ListRecords></OAI-PMH>\n"


def oai_record(identifier: str, *fields: str) -> str:
    """A <record> with dim metadata; fields are dim:field element strings."""
    return (
        f"<record><header><identifier>{identifier}</identifier></header><metadata>"
        '<dim:dim xmlns:dim="http://www.dspace.org/xmlns/dspace/dim">'
        + "".join(fields)
        + "</dim:dim></metadata></record>\n"
    )


def dim_title(text: str, lang: str = "en") -> str:
    return f'<dim:field mdschema="dc" element="title" lang="{lang}">{text}</dim:field>'


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def items(path: Path, fmt: str | None = None) -> list[Record | ReadError]:
    return list(read(path, fmt))


def records(path: Path, fmt: str | None = None) -> list[Record]:
    found = items(path, fmt)
    assert [i for i in found if isinstance(i, ReadError)] == []
    return found  # type: ignore[return-value]


def errors(found: list[Record | ReadError]) -> list[ReadError]:
    return [i for i in found if isinstance(i, ReadError)]


def sample(path: Path) -> Record:
    """The sample record of a fixture (the one titled like the page)."""
    return next(r for r in records(path) if r.first("dc.title") == TITLE)


def rows(record: Record) -> Counter[tuple[str, str]]:
    """(field, value) multiset, field names made canonical."""
    return Counter((canonical_field(fv.field), fv.value) for fv in record.fields)
