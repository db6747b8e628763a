"""The synthetic corpus generator of the load benchmark (bench/synthetic.py)."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "fixtures" / "dspace-page-IDB-LM-00577.txt"
NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "dim": "http://www.dspace.org/xmlns/dspace/dim",
}
RECORDS, PER_FILE, RATE = 200, 50, 0.05
SAMPLE_FIELDS = [
    "dc.title", "dc.contributor.author", "dc.contributor.orgunit", "dc.coverage",
    "dc.date.available", "dc.date.issued", "dc.description.abstract", "dc.format.extent",
    "dc.identifier.doi", "dc.identifier.url", "dc.language.iso", "dc.publisher", "dc.subject",
    "dc.subject.jelcode", "dc.subject.keywords", "dc.type", "idb.identifier.pubnumber",
    "idb.operation",
]  # fmt: skip
OPTIONAL = {"idb.operation"}
DOI = re.compile(r"https?://dx\.doi\.org/10\.\d{4,}/\S+")


def _load_module():
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic"] = module
    spec.loader.exec_module(module)
    return module


synthetic = _load_module()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    manifest = synthetic.generate(RECORDS, out, per_file=PER_FILE, seed=1, invalid_rate=RATE)
    return out, manifest


def _records(out: Path, manifest) -> list[dict[str, list[str]]]:
    records = []
    for name in manifest.files:
        tree = etree.parse(str(out / name))
        for dim in tree.iterfind(".//oai:record/oai:metadata/dim:dim", NS):
            fields: dict[str, list[str]] = {}
            for field in dim.iterfind("dim:field", NS):
                parts = [field.get("mdschema"), field.get("element"), field.get("qualifier")]
                fields.setdefault(".".join(p for p in parts if p), []).append(field.text)
            records.append(fields)
    return records


def _jel_codes() -> set[str]:
    with (ROOT / "ontology" / "sources" / "jel_codes.csv").open(encoding="utf-8") as handle:
        return {row["code"] for row in csv.DictReader(handle)}


def _valid_date(text: str) -> bool:
    if re.fullmatch(r"\d{4}", text):
        return True
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _defects(fields: dict[str, list[str]], jel: set[str]) -> list[str]:
    found = []
    if "dc.title" not in fields:
        found.append("missing-title")
    if not DOI.fullmatch(fields["dc.identifier.doi"][0]):
        found.append("bad-doi")
    if any(v.split(" - ")[0] not in jel for v in fields["dc.subject.jelcode"]):
        found.append("bad-jel")
    if int(fields["dc.format.extent"][0]) <= 0:
        found.append("zero-pages")
    if not _valid_date(fields["dc.date.issued"][0]):
        found.append("bad-date")
    return found


def test_sample_fields_are_the_sample_page_fields():
    text = SAMPLE.read_text(encoding="utf-8")
    # the page shows "dc.date.issue" (cut short); the DSpace field is dc.date.issued
    assert all(name.replace("issued", "issue") in text for name in SAMPLE_FIELDS)


def test_files_parse_as_oai_pmh(corpus):
    out, manifest = corpus
    assert len(manifest.files) == RECORDS // PER_FILE
    assert len(_records(out, manifest)) == RECORDS
    root = etree.parse(str(out / manifest.files[0])).getroot()
    assert root.tag == "{http://www.openarchives.org/OAI/2.0/}OAI-PMH"
    identifier = root.findtext(".//oai:header/oai:identifier", namespaces=NS)
    assert re.fullmatch(r"oai:publications\.iadb\.org:11319/\d+", identifier)


def test_records_have_every_field_of_the_sample(corpus):
    records = _records(*corpus)
    invalid = set(corpus[1].invalid_records)
    for fields in records:
        missing = set(SAMPLE_FIELDS) - OPTIONAL - set(fields)
        assert missing <= {"dc.title"}
        assert not missing or fields["idb.identifier.pubnumber"][0] in invalid
        assert 1 <= len(fields["dc.contributor.author"]) <= 6
        assert 3 <= len(fields["dc.subject"]) <= 12
        assert 1 <= len(fields["dc.subject.jelcode"]) <= 4
    assert any("idb.operation" in fields for fields in records)


def test_identifiers_are_unique(corpus):
    records = _records(*corpus)
    pubnumbers = [f["idb.identifier.pubnumber"][0] for f in records]
    dois = [f["dc.identifier.doi"][0] for f in records if DOI.fullmatch(f["dc.identifier.doi"][0])]
    assert len(set(pubnumbers)) == RECORDS
    assert len(set(dois)) == len(dois) > RECORDS * 0.9


def test_authors_recur(corpus):
    authors = Counter(a for f in _records(*corpus) for a in f["dc.contributor.author"])
    assert all(re.fullmatch(r"[^,]+, [^,]+", name) for name in authors)
    assert authors.most_common(1)[0][1] >= 2


def test_invalid_rate_is_honoured(corpus):
    out, manifest = corpus
    jel = _jel_codes()
    found = {}
    for fields in _records(out, manifest):
        defects = _defects(fields, jel)
        assert len(defects) <= 1
        if defects:
            found[fields["idb.identifier.pubnumber"][0]] = defects[0]
    assert len(found) == round(RECORDS * RATE) == sum(manifest.invalid.values())
    assert set(found) == set(manifest.invalid_records)
    assert Counter(found.values()) == Counter(manifest.invalid)


def test_same_seed_same_bytes(corpus, tmp_path):
    out, manifest = corpus
    options = {"per_file": PER_FILE, "invalid_rate": RATE}
    again = synthetic.generate(RECORDS, tmp_path / "a", seed=1, **options)
    other = synthetic.generate(RECORDS, tmp_path / "b", seed=2, **options)
    for name in manifest.files:
        assert (tmp_path / "a" / name).read_bytes() == (out / name).read_bytes()
    first = manifest.files[0]
    assert (tmp_path / "b" / first).read_bytes() != (out / first).read_bytes()
    assert again.invalid_records == manifest.invalid_records != other.invalid_records


def test_records_numbered_after_others_share_no_identifier_with_them(corpus, tmp_path):
    out, manifest = corpus
    later = synthetic.generate(RECORDS, tmp_path / "later", per_file=PER_FILE, seed=1,
                               invalid_rate=RATE, after=RECORDS)
    assert later.key() != manifest.key()

    def identifiers(folder: Path, found) -> set[str]:
        ids = {f["idb.identifier.pubnumber"][0] for f in _records(folder, found)}
        ids |= {f["dc.identifier.doi"][0] for f in _records(folder, found)}
        for name in found.files:
            ids |= {e.text for e in etree.parse(str(folder / name)).iterfind(
                ".//oai:header/oai:identifier", NS)}
        return ids

    first, second = identifiers(out, manifest), identifiers(tmp_path / "later", later)
    assert len(second) >= 2 * RECORDS
    assert not (first & second) - {"not-a-doi"}


def _index_share(abstract: str) -> float:
    """What share of an abstract's words are distinct content words (folded as a text index
    folds them; two letters or more, not one of the function words the generator draws
    first)."""
    import tomllib

    from policykg.graph.search.analysis import words

    names = tomllib.loads((ROOT / "bench" / "names.toml").read_text(encoding="utf-8"))
    function_words = set(names["function_words"])
    content = {w for w in words(abstract) if len(w) > 1 and w not in function_words}
    return len(content) / len(abstract.split())


def test_abstracts_are_running_text_indexed_like_a_real_abstract(corpus):
    out, manifest = corpus
    sample = SAMPLE.read_text(encoding="utf-8").split("dc.description.abstract", 1)[1]
    real = _index_share(sample.splitlines()[0])  # 112 distinct content words of 245
    shares = [_index_share(f["dc.description.abstract"][0]) for f in _records(out, manifest)]
    assert 0.4 < real < 0.5
    assert abs(sum(shares) / len(shares) - real) < 0.05  # drawing words alike gave 0.88
    assert all(150 <= len(f["dc.description.abstract"][0].split()) <= 300
               for f in _records(out, manifest))


def test_a_corpus_of_the_earlier_text_model_is_told_apart(corpus, tmp_path):
    out, manifest = corpus
    written = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert synthetic.read_manifest(out).key() == manifest.key()
    del written["text"]  # as the generator wrote it before abstracts were running text
    (tmp_path / "manifest.json").write_text(json.dumps(written), encoding="utf-8")
    assert synthetic.read_manifest(tmp_path).text == "uniform"
    assert synthetic.read_manifest(tmp_path).key() != manifest.key()
