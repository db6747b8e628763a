"""The readers (policykg.graph.readers), as a specification.

The fixtures hold ONE sample record (IDB-LM-00577) in every format, written by hand as DSpace
exports it; the page text is the reference. Identifiers that the page does not show (OAI
identifiers, uuids, handles, collection handles) are placeholders under DSpace's default
handle prefix 123456789. Documented field-name differences between the formats:
  * the page says dc.date.issue where DSpace exports dc.date.issued (canonical_field maps it);
  * oai_dc is simple Dublin Core: qualifiers and the idb.* fields are lost, so it is compared
    with the page element by element;
  * qdc is what DSpace's qdc.xsl writes: some qualified fields, others lost (``qualified_dc``).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from reader_samples import (
    CSV,
    DIM,
    JSON,
    OAI_DC,
    OAI_HEAD,
    PAGE,
    QDC,
    TITLE,
    dim_title,
    items,
    oai_record,
    records,
    rows,
    sample,
    write,
)

from policykg.graph.readers import canonical_field
from policykg.graph.readers.record import FieldValue, ReadError, Record


def simple_dc(field: str) -> str | None:
    """The oai_dc element DSpace's crosswalk writes a qualified field as (None: not written)."""
    schema, element, *_ = field.split(".")
    if schema != "dc":
        return None
    return "creator" if field == "dc.contributor.author" else element


QDC_KEPT = {"dc.title", "dc.contributor.author", "dc.subject", "dc.description.abstract",
            "dc.date.available", "dc.date.issued", "dc.type", "dc.language.iso", "dc.coverage",
            "dc.publisher", "dc.identifier.doi", "dc.identifier.url"}


def qualified_dc(field: str) -> str | None:
    """The field a page field comes back as through DSpace's qdc crosswalk (None: not written):
    the fields of QDC_KEPT as they are (identifiers are classified by form again), other
    contributors without their qualifier, the rest lost (dc.subject.*, dc.format.*, idb.*)."""
    if field in QDC_KEPT:
        return field
    return "dc.contributor" if field.startswith("dc.contributor.") else None


# --- the page reader ----------------------------------------------------------------------


def test_page_reader_splits_glued_field_names_on_the_longest_registry_name(tmp_path):
    (page,) = records(PAGE)
    assert page.first("dc.subject.jelcode") == (
        "O31 - Innovation and Invention: Processes and Incentives"
    )
    assert len(page.values("dc.subject.jelcode")) == 2
    assert page.first("dc.subject.keywords") == (
        "Caribbean;regional ecosystem;national ecosystem;cluster;innovation"
    )
    assert len(page.values("dc.subject")) == 12
    assert page.first("dc.date.available") == "2023-03-08T00:03:00"
    assert page.first("dc.date.issue") == "2023-03-08T00:03:00"
    assert page.first("dc.contributor.orgunit") == (
        "Competitiveness, Technology and Innovation Division"
    )
    path = write(tmp_path, "p.txt", "dc.date.issued2024\ndc.subject.keywordsfoo;bar\n")
    (record,) = records(path)
    assert [(f.field, f.value) for f in record.fields] == [
        ("dc.date.issued", "2024"),
        ("dc.subject.keywords", "foo;bar"),
    ]


def test_doi_value_starting_lower_case_is_not_split(tmp_path):
    (page,) = records(PAGE)
    assert page.first("dc.identifier.doi") == "http://dx.doi.org/10.18235/0004771"
    assert page.first("dc.language.iso") == "en"
    path = write(tmp_path, "p.txt", "dc.subjectinnovation policy\ndc.titleeconomics\n")
    (record,) = records(path)
    assert [(f.field, f.value) for f in record.fields] == [
        ("dc.subject", "innovation policy"),
        ("dc.title", "economics"),
    ]


def test_page_chrome_is_not_a_value():
    (page,) = records(PAGE)
    text = "\n".join(fv.value for fv in page.fields)
    for chrome in ("Skip to main content", "View metadata", "Return to Publication"):
        assert chrome not in text
    assert "execute-api" not in text
    assert page.fields[0].field == "dc.title" and page.fields[0].value == TITLE
    assert page.fields[-1].field == "idb.operation" and page.fields[-1].value == "RG-E1776"
    assert len(page.fields) == 31
    assert page.source_id == "dspace-page-IDB-LM-00577"
    assert {fv.language for fv in page.fields} == {None}


def test_page_lines_without_a_field_name_continue_the_value(tmp_path):
    text = (
        "http://example.org/x Skip to main content\n"
        "dc.titleA title\n"
        "dc.description.abstractFirst line,\n"
        "second line,  two spaces kept.\n"
        "View metadata\n"
        "third line.\n"
        "dc.typeLearning Materials\n"
        "Return to Publication\n"
        "Footer text that is not metadata\n"
    )
    (record,) = records(write(tmp_path, "p.txt", text))
    assert record.first("dc.description.abstract") == (
        "First line,\nsecond line,  two spaces kept.\nthird line."
    )
    assert record.first("dc.type") == "Learning Materials"


def test_page_end_line_glued_to_the_last_value_is_cut(tmp_path):
    text = "dc.titleT\nidb.operationRG-E1776Return to Publication\nFooter\n"
    (record,) = records(write(tmp_path, "p.txt", text))
    assert record.first("idb.operation") == "RG-E1776"
    assert len(record.fields) == 2


def test_page_table_form_gives_languages(tmp_path):
    text = "Field\tValue\tLanguage\ndc.title\tA title\ten\ndc.date.issued\t2023\t\n"
    text += "dc.subject\tclusters\nidb.operation\tRG-E1776\t\n"
    (record,) = records(write(tmp_path, "p.txt", text))
    assert [(f.field, f.value, f.language) for f in record.fields] == [
        ("dc.title", "A title", "en"),
        ("dc.date.issued", "2023", None),
        ("dc.subject", "clusters", None),
        ("idb.operation", "RG-E1776", None),
    ]


def test_page_field_missing_from_the_registry_rejects_the_record(tmp_path):
    path = write(tmp_path, "p.txt", "dc.titleT\ndc.subject.regionCaribbean\n")
    (error,) = items(path)
    assert isinstance(error, ReadError)
    assert "line 2" in error.message and "dc.subject.regionCaribbean" in error.message
    path = write(tmp_path, "q.txt", "dc.titleT\nidb.unknownThing\n")
    (error,) = items(path)
    assert isinstance(error, ReadError) and "line 2" in error.message


# --- the same record in every format ------------------------------------------------------


@pytest.mark.parametrize("path", [DIM, CSV, JSON], ids=["oai-dim", "csv", "rest-json"])
def test_each_format_yields_the_same_rows_as_the_page(path):
    (page,) = records(PAGE)
    assert rows(sample(path)) == rows(page)


def test_oai_dc_yields_the_page_rows_as_simple_dublin_core():
    (page,) = records(PAGE)
    record = sample(OAI_DC)

    def simple(rec: Record) -> Counter[tuple[str, str]]:
        pairs = ((simple_dc(canonical_field(f.field)), f.value) for f in rec.fields)
        return Counter((e, v) for e, v in pairs if e)

    assert simple(record) == simple(page)
    assert record.first("dc.identifier.doi") == "http://dx.doi.org/10.18235/0004771"
    assert record.first("dc.identifier.url").endswith("Building-Initiative.pdf")
    assert record.values("dc.contributor.author")[1].value == "Conz, Elisa"


def test_qdc_yields_the_page_rows_dspace_qdc_crosswalk_writes():
    (page,) = records(PAGE)
    record = sample(QDC)
    written = Counter((qualified_dc(canonical_field(f.field)), f.value) for f in page.fields)
    assert rows(record) == Counter({key: n for key, n in written.items() if key[0]})
    assert record.format == "oai-xml/qdc"
    assert record.values("dc.contributor") == [
        FieldValue("dc.contributor", "Competitiveness, Technology and Innovation Division")]
    # written three times (dcterms:available, dateAccepted, created), read once
    assert [fv.value for fv in record.values("dc.date.available")] == ["2023-03-08T00:03:00"]
    assert {fv.language for fv in record.fields} == {None}  # qdc.xsl writes no xml:lang


def test_qdc_element_missing_from_the_table_rejects_its_record(tmp_path):
    text = QDC.read_text(encoding="utf-8").replace(
        "<dc:type>", "<dcterms:alternative>Other title</dcterms:alternative><dc:type>")
    (error,) = items(write(tmp_path, "custom.xml", text))
    assert isinstance(error, ReadError) and error.format == "oai-xml/qdc"
    assert "unknown qdc element dcterms:alternative (line 36;" in error.message
    assert "graph/data/qdc-fields.toml" in error.message


def test_bare_qdc_record_file(tmp_path):
    text = QDC.read_text(encoding="utf-8")
    bare = text[text.index("    <record>"):text.index("</GetRecord>")]
    (record,) = records(write(tmp_path, "bare.xml", '<?xml version="1.0"?>\n' + bare))
    assert rows(record) == rows(sample(QDC)) and record.format == "oai-xml/qdc"


def test_dim_csv_and_json_agree_on_languages():
    def full(record: Record) -> Counter[tuple[str, str, str | None]]:
        return Counter((canonical_field(f.field), f.value, f.language) for f in record.fields)

    dim, csv_record, rest = sample(DIM), sample(CSV), sample(JSON)
    assert full(dim) == full(csv_record) == full(rest)
    assert dim.values("dc.title")[0].language == "en"
    assert dim.values("dc.identifier.doi")[0].language is None
    assert dim.values("dc.date.issued")[0].language is None


def test_source_ids():
    assert [r.source_id for r in records(DIM)] == [
        "oai:localhost:123456789/577",
        "oai:localhost:123456789/578",
        "oai:localhost:123456789/412",
    ]
    assert (
        sample(CSV).source_id == sample(JSON).source_id == ("5f6d7c1e-2a4b-4c3d-9e8f-0a1b2c3d4e5f")
    )
    assert {r.format for r in records(CSV)} == {"dspace-csv"}


# --- OAI-PMH ------------------------------------------------------------------------------


def test_deleted_oai_record_is_flagged():
    deleted = [r for r in records(DIM) if r.deleted]
    assert [(r.source_id, r.fields) for r in deleted] == [("oai:localhost:123456789/412", [])]


def test_dim_language_empty_or_star_is_none():
    second = records(DIM)[1]
    assert [(f.field, f.value, f.language) for f in second.fields] == [
        ("dc.title", "Registro de prueba para los lectores", "es"),
        ("dc.contributor.author", "Peña, José", None),
        ("dc.date.issued", "2024-04-30", None),
        ("dc.type", "Working Papers", None),
        ("idb.identifier.pubnumber", "IDB-WP-99999", None),
    ]


def test_bare_sequence_of_records(tmp_path):
    text = '<?xml version="1.0"?>\n' + oai_record("a", dim_title("One"))
    text += oai_record("b", dim_title("Two"))
    found = records(write(tmp_path, "bare.xml", text))
    assert [(r.source_id, r.first("dc.title")) for r in found] == [("a", "One"), ("b", "Two")]


def test_oai_error_response(tmp_path):
    text = OAI_HEAD.replace("<ListRecords>", "")
    bad = text + '<error code="badArgument">no such set</error></OAI-PMH>'
    (error,) = items(write(tmp_path, "e.xml", bad))
    assert isinstance(error, ReadError) and "badArgument" in error.message
    empty = text + '<error code="noRecordsMatch">none</error></OAI-PMH>'
    assert items(write(tmp_path, "n.xml", empty)) == []


# --- REST JSON ----------------------------------------------------------------------------


def rest_item(uuid: str, metadata: dict, **extra: object) -> dict:
    return {"uuid": uuid, "handle": "123456789/1", "metadata": metadata, "type": "item", **extra}


def value(text: str, place: int, language: str | None = "en") -> dict:
    return {
        "value": text,
        "language": language,
        "authority": None,
        "confidence": -1,
        "place": place,
    }


def test_rest_values_follow_place_and_are_stripped(tmp_path):
    item = rest_item(
        "u1",
        {"dc.contributor.author": [value("Second", 1), value("  First  author ", 0, "")]},
    )
    (record,) = records(write(tmp_path, "i.json", json.dumps(item)))
    assert [(f.value, f.language) for f in record.fields] == [
        ("First  author", None),
        ("Second", "en"),
    ]


def test_rest_search_response_and_withdrawn_items(tmp_path):
    hits = [
        rest_item("u1", {"dc.title": [value("One", 0)]}),
        {"uuid": "c1", "type": "collection", "metadata": {"dc.title": [value("Coll", 0)]}},
        rest_item("u2", {"dc.title": [value("Gone", 0)]}, withdrawn=True),
    ]
    objects = [{"_embedded": {"indexableObject": hit}} for hit in hits]
    page = {"_embedded": {"searchResult": {"_embedded": {"objects": objects}}}}
    found = records(write(tmp_path, "s.json", json.dumps(page)))
    assert [(r.source_id, r.deleted, len(r.fields)) for r in found] == [
        ("u1", False, 1),
        ("u2", True, 0),
    ]
    listing = {"_embedded": {"items": hits[:1]}}
    assert [r.source_id for r in records(write(tmp_path, "l.json", json.dumps(listing)))] == ["u1"]


# --- CSV ----------------------------------------------------------------------------------


def test_bad_csv_row_does_not_stop_others(tmp_path):
    text = (
        "id,collection,dc.title[en]\n"
        '"u1","123456789/2","One"\n'
        '"u2","123456789/2","Two","extra"\n'
        '"+","123456789/2","Three"\n'
    )
    found = items(write(tmp_path, "x.csv", text))
    assert [type(i).__name__ for i in found] == ["Record", "ReadError", "Record"]
    assert found[1].source_id == "u2" and "line 3" in found[1].message
    assert found[2].source_id == "row 3" and found[2].first("dc.title") == "Three"


def test_csv_language_forms_and_authority_suffix(tmp_path):
    text = (
        "id,collection,dc.contributor.author[],dc.subject,dc.title[en_US]\n"
        '"u1","123456789/2","Smith, J.::0000-0002-1825-0097::600","a||b||","T"\n'
    )
    (record,) = records(write(tmp_path, "x.csv", text))
    assert [(f.field, f.value, f.language) for f in record.fields] == [
        ("dc.contributor.author", "Smith, J.", None),
        ("dc.subject", "a", None),
        ("dc.subject", "b", None),
        ("dc.title", "T", "en_US"),
    ]
