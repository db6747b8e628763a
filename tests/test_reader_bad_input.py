"""The readers (policykg.graph.readers) on input that is not a well-formed export, as a
specification: hostile XML (entities, huge texts), malformed or cut-short files, control
characters, other encodings, empty files, and how a file's format is found or refused.
"""

from __future__ import annotations

import gzip
import json
import random
import select
import socket
import time

import pytest
from reader_samples import (
    CSV,
    DIM,
    JSON,
    OAI_DC,
    OAI_HEAD,
    OAI_TAIL,
    PAGE,
    QDC,
    dim_title,
    errors,
    items,
    oai_record,
    records,
    rows,
    write,
)

from policykg.graph.readers import FORMATS, detect, find_inputs
from policykg.graph.readers.record import NotRecords, ReadError, Record


class _Listener:
    """A local TCP socket that must never be connected to."""

    def __enter__(self) -> _Listener:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        return self

    def connected(self) -> bool:
        return bool(select.select([self.sock], [], [], 0.3)[0])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_external_entity_is_not_resolved(tmp_path):
    secret = write(tmp_path, "secret.txt", "TOP-SECRET")
    with _Listener() as listener:
        url = f"http://127.0.0.1:{listener.port}"
        doctype = (
            "<!DOCTYPE OAI-PMH [\n"
            f'<!ENTITY local SYSTEM "{secret.as_uri()}">\n'
            f'<!ENTITY remote SYSTEM "{url}/entity">\n'
            "]>\n"
        )
        text = OAI_HEAD.replace("<OAI-PMH", doctype + "<OAI-PMH", 1)
        text += oai_record("file", dim_title("&local;")) + oai_record("net", dim_title("&remote;"))
        text += oai_record("plain", dim_title("Plain")) + OAI_TAIL
        found = items(write(tmp_path, "xxe.xml", text))
        assert not listener.connected()
    assert "TOP-SECRET" not in repr(found)
    assert [type(i).__name__ for i in found] == ["ReadError", "ReadError", "Record"]
    assert "&local;" in found[0].message and found[0].source_id == "file"
    assert found[2].first("dc.title") == "Plain"


def test_external_dtd_and_parameter_entities_are_not_fetched(tmp_path):
    secret = write(tmp_path, "secret.dtd", '<!ENTITY leak "TOP-SECRET">')
    with _Listener() as listener:
        url = f"http://127.0.0.1:{listener.port}"
        for n, doctype in enumerate(
            [
                f'<!DOCTYPE OAI-PMH SYSTEM "{url}/oai.dtd">\n',
                f'<!DOCTYPE OAI-PMH [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>\n',
                f'<!DOCTYPE OAI-PMH [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>\n',
            ]
        ):
            text = OAI_HEAD.replace("<OAI-PMH", doctype + "<OAI-PMH", 1)
            text += oai_record("r", dim_title("Plain")) + OAI_TAIL
            found = items(write(tmp_path, f"dtd{n}.xml", text))
            assert "TOP-SECRET" not in repr(found)
        assert not listener.connected()


def test_billion_laughs_is_not_expanded(tmp_path):
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE OAI-PMH [\n" + "\n".join(entities) + "\n]>\n"
    text = OAI_HEAD.replace("<OAI-PMH", doctype + "<OAI-PMH", 1)
    text += oai_record("bomb", dim_title("&lol9;")) + oai_record("ok", dim_title("Fine"))
    started = time.monotonic()
    found = items(write(tmp_path, "lol.xml", text + OAI_TAIL))
    assert time.monotonic() - started < 5
    assert len(repr(found)) < 10_000 and "lollol" not in repr(found)
    # libxml2 refuses the bomb record (entity amplification); the record after it is read
    (error,) = errors(found)
    assert error.source_id == "bomb" and "record at line 15 not read: the XML parser's " \
        "limits: Maximum entity amplification factor exceeded" in error.message
    assert [r.source_id for r in found if isinstance(r, Record)] == ["ok"]


def test_a_text_over_the_parser_s_limit_rejects_its_record_and_the_next_are_read(tmp_path):
    text = OAI_HEAD + oai_record("before", dim_title("Before"))
    text += oai_record("huge", dim_title("x" * 50_000_000))
    text += oai_record("after", dim_title("After")) + OAI_TAIL
    found = items(write(tmp_path, "huge.xml", text))
    assert [(type(i).__name__, i.source_id) for i in found] == [
        ("Record", "before"), ("ReadError", "huge"), ("Record", "after")]
    assert found[1].message == ("record at line 4 not read: the XML parser's limits: "
                                "Resource limit exceeded: Text node too long")


def test_a_malformed_record_rejects_itself_alone_and_the_next_are_read(tmp_path):
    broken = "<record><header><identifier>bad</identifier></header>\n<metadata>\n</record>\n"
    text = OAI_HEAD + oai_record("good", dim_title("Good")) + broken
    text += oai_record("next", dim_title("Next")) + OAI_TAIL
    found = items(write(tmp_path, "broken.xml", text))
    assert [(type(i).__name__, i.source_id) for i in found] == [
        ("Record", "good"), ("ReadError", "bad"), ("Record", "next")]
    assert found[1].message.startswith("record at line 4 not read: malformed XML at line 6: ")


def test_malformed_xml_names_file_and_line(tmp_path):
    text = OAI_HEAD + oai_record("good", dim_title("Good"))
    text += "<record><header><identifier>bad</identifier></header>\n<metadata>\n</record>\n"
    path = write(tmp_path, "broken.xml", text + OAI_TAIL)
    first, error = items(path)
    assert isinstance(first, Record) and first.source_id == "good"
    assert isinstance(error, ReadError)
    assert error.source == str(path) and str(path) in str(error)
    assert "line 5" in error.message


def test_a_file_cut_short_keeps_its_whole_records_and_none_half_read(tmp_path):
    text = OAI_HEAD + oai_record("good", dim_title("Good")) + oai_record("cut", dim_title("Cut"))
    path = write(tmp_path, "cut.xml", text[: text.rindex("Cut")])  # inside the second record
    first, error = items(path)
    assert isinstance(first, Record) and first.source_id == "good"
    assert isinstance(error, ReadError) and "malformed XML" in error.message



# --- rules shared by every format ---------------------------------------------------------


def test_control_character_rejects_the_record_naming_the_field(tmp_path):
    text = 'id,collection,dc.title[en]\n"u1","c","Bell\x07"\n"u2","c","Fine"\n'
    bad, good = items(write(tmp_path, "c.csv", text))
    assert isinstance(bad, ReadError) and bad.source_id == "u1"
    assert "dc.title" in bad.message and "U+0007" in bad.message
    assert isinstance(good, Record) and good.first("dc.title") == "Fine"
    xml = OAI_HEAD + oai_record("nel", dim_title("Next&#x85;line")) + OAI_TAIL
    (error,) = items(write(tmp_path, "c.xml", xml))
    assert isinstance(error, ReadError) and "U+0085" in error.message



NON_UTF8 = {
    "dspace-page": b"dc.titleCaf\xe9\n",
    "dspace-csv": b'id,collection,dc.title[en]\n"u1","c","Caf\xe9"\n',
    "dspace-rest-json": b'{"uuid": "u1", "metadata": {"dc.title": [{"value": "Caf\xe9"}]}}',
    "oai-xml": (OAI_HEAD + oai_record("r", dim_title("Caf\xe9")) + OAI_TAIL).encode("latin-1"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("forced", [True, False], ids=["forced", "detected"])
def test_non_utf8_file(tmp_path, fmt, forced):
    data = NON_UTF8[fmt]
    path = write(tmp_path, "bad.dat", data)
    found = items(path, fmt if forced else None)
    offset = data.index(b"\xe9")
    assert found[-1] == ReadError(str(path), None, fmt, f"not UTF-8 at byte {offset}")
    assert errors(found) == [found[-1]]


@pytest.mark.parametrize("fmt", [*FORMATS, None])
@pytest.mark.parametrize("content", [b"", b" \n\t\n"], ids=["zero-bytes", "blank"])
def test_empty_file(tmp_path, fmt, content):
    path = write(tmp_path, "empty.xml", content)
    (error,) = items(path, fmt)
    assert isinstance(error, ReadError) and error.message == "empty file"
    assert error.source == str(path)


def test_unknown_format(tmp_path):
    (error,) = items(PAGE, "marc21")
    assert isinstance(error, ReadError) and error.source == str(PAGE)
    assert "unknown format 'marc21'" in error.message
    notes = write(tmp_path, "notes.txt", "just some text\n")
    assert items(notes) == [NotRecords(str(notes), "not a record format")]
    (error,) = items(tmp_path / "missing.xml")
    assert isinstance(error, ReadError) and error.message == "no such file"


@pytest.mark.parametrize(
    ("path", "fmt", "record_format"),
    [
        (PAGE, "dspace-page", "dspace-page"),
        (DIM, "oai-xml", "oai-xml/dim"),
        (OAI_DC, "oai-xml", "oai-xml/oai_dc"),
        (QDC, "oai-xml", "oai-xml/qdc"),
        (CSV, "dspace-csv", "dspace-csv"),
        (JSON, "dspace-rest-json", "dspace-rest-json"),
    ],
)
def test_detects_each_format(tmp_path, path, fmt, record_format):
    """Records name the reader and, for OAI-PMH, the metadata payload they were read from."""
    assert detect(path) == fmt
    misnamed = write(
        tmp_path, "misnamed.csv" if fmt != "dspace-csv" else "m.json", path.read_bytes()
    )
    assert detect(misnamed) == fmt
    assert {r.format for r in records(misnamed) if not r.deleted} == {record_format}


def test_forced_format(tmp_path):
    copy = write(tmp_path, "page.xml", PAGE.read_bytes())
    (record,) = records(copy, "dspace-page")
    assert rows(record) == rows(records(PAGE)[0])
    for fmt in FORMATS:
        if fmt != "dspace-page":
            found = items(PAGE, fmt)
            assert found and all(isinstance(i, ReadError) and i.format == fmt for i in found)


@pytest.mark.parametrize("content", [
    gzip.compress(PAGE.read_bytes()), b"\x7fELF\x02\x01\x01\x00" + bytes(56),
    random.Random(1).randbytes(4096), b"a,b\rc,d\n"],
    ids=["gzip", "elf", "random", "carriage-return-in-a-line"])
def test_binary_or_unknown_content_is_no_record_format(tmp_path, content):
    path = write(tmp_path, "data.csv", content)
    assert detect(path) is None
    assert items(path) == [NotRecords(str(path), "not a record format")]


@pytest.mark.parametrize("data", [{"records": 3, "files": ["a.xml"]}, [{"id": 1}, {"id": 2}]],
                         ids=["object", "list"])
def test_json_that_holds_no_dspace_item_is_no_record(tmp_path, data):
    path = write(tmp_path, "manifest.json", json.dumps(data))
    assert items(path) == [NotRecords(str(path), "not a record (JSON, but no DSpace item)")]


def test_find_inputs_expands_folders_and_patterns_and_says_what_names_nothing(tmp_path):
    for name in ["b/2.xml", "b/1.csv", "b/.hidden.xml", "b/.git/x.json", "a.json"]:
        write_path = tmp_path / name
        write_path.parent.mkdir(parents=True, exist_ok=True)
        write_path.write_text("x")
    (tmp_path / "empty").mkdir()
    base = str(tmp_path)
    found = find_inputs([f"{base}/b", f"{base}/*.json", f"{base}/b/1.csv", f"{base}/no.xml",
                         f"{base}/*.gz", f"{base}/empty"])
    assert found.files == [tmp_path / "b/1.csv", tmp_path / "b/2.xml", tmp_path / "a.json"]
    assert found.missing == [f"{base}/no.xml"] and found.unmatched == [f"{base}/*.gz"]
    assert found.empty == [f"{base}/empty"]
