"""Readers: DSpace metadata files in, ``Record | ReadError`` out, one reader module per format
(``dspace_page``, ``oai_xml``, ``csv_export``, ``rest_json``), chosen and detected by
``formats``; ``common`` holds what they share, ``record`` the type they yield,
``record_starts`` where an XML file's records start (to read on after a bad one). Imports nothing
of policykg outside this package.

A reader never raises for bad input: a record it cannot read becomes a ``ReadError`` naming
the file, the record and the problem, and the records after it are still read. A file that
holds no records at all (of no record format, or JSON that is no DSpace item) gives one
``NotRecords``.

    for item in read(Path("export.xml")):          # format detected from the content
        ...
    read(Path("page.txt"), format="dspace-page")   # or forced
"""

from policykg.graph.readers.common import (
    BadRecord,
    FileError,
    FileItem,
    Item,
    Registry,
    bad_record,
    canonical_field,
    clean_language,
    field_value,
    file_problem,
    file_reader,
    parse_registry,
    registry,
    utf8_lines,
    utf8_text,
)
from policykg.graph.readers.formats import FORMATS, Inputs, count, detect, find_inputs, read
from policykg.graph.readers.record import NotRecords

__all__ = [
    "FORMATS", "BadRecord", "FileError", "FileItem", "Inputs", "Item", "NotRecords",
    "Registry", "bad_record", "canonical_field", "clean_language", "count", "detect",
    "field_value",
    "file_problem", "file_reader", "find_inputs", "parse_registry", "read", "registry",
    "utf8_lines", "utf8_text",
]
