"""Synthetic DSpace corpus: OAI-PMH ListRecords pages of ``dim`` records, for load benchmarks.

Every record carries the fields of the IDB sample (tests/fixtures/dspace-page-IDB-LM-00577.txt).
Authors are drawn from a pool of about N/3 persons with Zipf-like weights so they recur; a
fixed share of records is invalid on purpose (one defect each, see ``DEFECTS``). Output is
deterministic for a seed: the person pool, the defects and the word stream come from the
seed; each page (``--per-file`` records) draws its records from a stream of its own, seeded by
the seed and the page's number, so that ``--jobs`` processes write pages side by side.

    python bench/synthetic.py --records 100000 --out /tmp/corpus [--per-file 1000] [--seed 1]
                              [--jobs N]
"""

from __future__ import annotations

import argparse
import csv
import functools
import itertools
import json
import multiprocessing
import os
import random
import re
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path

from lxml import etree

NAMES_FILE = Path(__file__).with_name("names.toml")
OAI = "http://www.openarchives.org/OAI/2.0/"
DIM = "http://www.dspace.org/xmlns/dspace/dim"
DIM_FIELD = f"{{{DIM}}}field"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_XSD = "http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
DIM_XSD = "http://www.dspace.org/xmlns/dspace/dim http://www.dspace.org/schema/dim.xsd"
BASE = "http://localhost:8000/"
PKG = "https://w3id.org/policykg/ontology#"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
DEFECTS = ("missing-title", "bad-doi", "bad-jel", "zero-pages", "bad-date")
SMALL_WORDS = frozenset(("a", "an", "and", "at", "by", "for", "in", "of", "on", "the", "to"))
ZIPF_S = 0.9  # Zipf-Mandelbrot exponent and offset for author popularity
ZIPF_Q = 20.0
STREAM_WORDS = 200_000  # abstracts are windows of one pre-drawn random word stream
# Word frequencies of running text: Zipf-Mandelbrot with Mandelbrot's fit for English, function
# words (names.toml) in the first ranks. The real sample's abstract has 106 index words in 245
# (43%); this draws about 45%, where drawing every word alike drew 88% and doubled the word index.
TEXT_S = 1.0
TEXT_Q = 2.7
TEXT_MODEL = f"zipf-mandelbrot {TEXT_S} {TEXT_Q}"  # in the manifest: other corpora are made anew
PAGES = "seeded by page"  # in the manifest: how pages draw their records (see the docstring)


@dataclass
class Vocab:
    """Everything the generator draws from."""

    cfg: dict
    divisions: list[str]
    regions: list[str]
    jel: list[str]
    words: list[str]
    subjects: list[str]
    function_words: list[str] = field(default_factory=list)  # most frequent first


@dataclass
class Manifest:
    """What a generation run wrote; saved as manifest.json next to the pages."""

    records: int
    per_file: int
    seed: int
    invalid_rate: float
    files: list[str] = field(default_factory=list)
    invalid: dict[str, int] = field(default_factory=dict)
    invalid_records: list[str] = field(default_factory=list)
    persons: int = 0
    after: int = 0  # records are numbered after this many (publication numbers, DOIs, handles)
    text: str = TEXT_MODEL  # how abstracts were drawn ("uniform": before TEXT_MODEL)
    pages: str = PAGES  # how pages draw their records ("one stream": all from the seed's)

    def key(self) -> dict:
        """The parameters that determine the output."""
        names = ("records", "per_file", "seed", "invalid_rate", "after", "text", "pages")
        return {k: getattr(self, k) for k in names}


# --- vocabularies -------------------------------------------------------------------------


def _ontology_file(name: str):
    try:
        path = files("policykg.ontology") / name
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parents[1] / "ontology" / name
    return path if path.is_file() else None


def _pref_labels(name: str, rdf_type: str | None = None) -> list[str]:
    """English (or untagged) skos:prefLabels of a vocabulary file, optionally of one class."""
    path = _ontology_file(name)
    if path is None:
        return []
    from rdflib import RDF, SKOS, Graph, URIRef

    graph = Graph()
    try:
        graph.parse(data=path.read_text(encoding="utf-8"), format="turtle", publicID=BASE)
    except Exception as exc:  # a vocabulary being written right now may not parse yet
        print(f"synthetic: ignoring {name}: {exc}", file=sys.stderr)
        return []
    wanted = set(graph.subjects(RDF.type, URIRef(rdf_type))) if rdf_type else None
    labels = {
        str(label)
        for subject, label in graph.subject_objects(SKOS.prefLabel)
        if (wanted is None or subject in wanted)
        and getattr(label, "language", None) in (None, "en")
    }
    return sorted(labels)


def _jel_third_level() -> list[str]:
    path = _ontology_file("sources/jel_codes.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [f"{r['code']} - {r['label']}" for r in rows if re.fullmatch(r"[A-Z]\d\d", r["code"])]


def _label_words(labels: list[str]) -> list[str]:
    words = {w.lower() for label in labels for w in re.findall(r"[A-Za-z][A-Za-z'-]+", label)}
    return sorted(words)


def load_vocab() -> Vocab:
    """Read names.toml and the real vocabularies (falling back to names.toml lists)."""
    cfg = tomllib.loads(NAMES_FILE.read_text(encoding="utf-8"))
    jel = _jel_third_level()
    divisions = _pref_labels("idb-org.ttl", PKG + "Division")
    regions = _pref_labels("regions.ttl", SKOS_CONCEPT)
    words = sorted(set(cfg["words"]) | set(_label_words([j.split(" - ", 1)[1] for j in jel])))
    return Vocab(
        cfg=cfg,
        divisions=divisions or cfg["divisions"],
        regions=regions or cfg["regions"],
        jel=jel,
        words=words,
        subjects=cfg["subjects"],
        function_words=cfg["function_words"],
    )


# --- record content -----------------------------------------------------------------------


def person_pool(rng: random.Random, cfg: dict, size: int) -> list[str]:
    """``size`` distinct "Family, Given" names; about a third have two family names."""
    family, given = cfg["family"], cfg["given"]
    names: dict[str, None] = {}
    while len(names) < size:
        surname = rng.choice(family)
        if rng.random() < 0.35:
            surname = f"{surname} {rng.choice(family)}"
        names[f"{surname}, {rng.choice(given)}"] = None
    return list(names)


def zipf_cum_weights(size: int, s: float = ZIPF_S, q: float = ZIPF_Q) -> list[float]:
    """Cumulative Zipf-Mandelbrot weights 1/(k+q)^s for ranks 1..size."""
    return list(itertools.accumulate(1.0 / (k + q) ** s for k in range(1, size + 1)))


def word_stream(rng: random.Random, vocab: Vocab, count: int) -> list[str]:
    """Running text: words drawn by the Zipf-Mandelbrot law of TEXT_S and TEXT_Q, ranked
    function words first, then the other words in a seeded order."""
    content = [w for w in vocab.words if w not in set(vocab.function_words)]
    rng.shuffle(content)
    ranked = vocab.function_words + content
    return rng.choices(ranked, cum_weights=zipf_cum_weights(len(ranked), TEXT_S, TEXT_Q), k=count)


def sentence_text(rng: random.Random, stream: list[str], count: int) -> str:
    """``count`` words from a random place of a pre-drawn word stream, cut into sentences."""
    start = rng.randrange(len(stream) - count)
    drawn = stream[start : start + count]
    sentences, start = [], 0
    while start < count:
        end = min(count, start + rng.randint(8, 22))
        chunk = " ".join(drawn[start:end])
        sentences.append(chunk[:1].upper() + chunk[1:] + ".")
        start = end
    return " ".join(sentences)


def title_text(rng: random.Random, words: list[str]) -> str:
    """A title-cased phrase of 4-14 words."""
    drawn = rng.choices(words, k=rng.randint(4, 14))
    cased = [w if w in SMALL_WORDS and i else w[:1].upper() + w[1:] for i, w in enumerate(drawn)]
    if rng.random() < 0.4:
        cut = rng.randint(2, len(cased) - 1)
        cased[cut - 1] += ":"
    return " ".join(cased)


def issued_date(rng: random.Random) -> datetime:
    """A moment between 1990 and 2026, later years more likely."""
    year = 1990 + min(int(36 * rng.random() ** 0.6), 36)
    start = datetime(year, 1, 1)
    return start + timedelta(seconds=rng.randrange(365 * 86400))


def date_forms(rng: random.Random, moment: datetime) -> str:
    """The moment as a full datetime, a date or a year."""
    form = rng.random()
    if form < 0.45:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if form < 0.80:
        return moment.strftime("%Y-%m-%d")
    return str(moment.year)


def keywords_text(rng: random.Random, vocab: Vocab) -> str:
    """2-7 keywords joined with ";": subject terms, places and word pairs."""
    out: list[str] = []
    for _ in range(rng.randint(2, 7)):
        pick = rng.random()
        if pick < 0.4:
            out.append(rng.choice(vocab.subjects).lower())
        elif pick < 0.55:
            out.append(rng.choice(vocab.regions))
        else:
            out.append(" ".join(rng.choices(vocab.words, k=rng.randint(1, 2))))
    return ";".join(dict.fromkeys(out))


def operation_number(rng: random.Random, cfg: dict) -> str:
    """An IDB operation number such as RG-T1234."""
    country = rng.choice(cfg["operation_countries"])
    return f"{country}-{rng.choice(cfg['operation_kinds'])}{rng.randrange(1000, 4000)}"


def url_for(title: str, folder: str) -> str:
    """The publications.iadb.org PDF URL built from a title."""
    slug = "-".join(re.findall(r"[A-Za-z0-9]+", title))
    return f"https://publications.iadb.org/publications/{folder}/document/{slug}.pdf"


# --- the generator ------------------------------------------------------------------------


class Generator:
    """Draws records one at a time from a seeded random stream."""

    def __init__(self, records: int, seed: int = 1, invalid_rate: float = 0.03,
                 after: int = 0) -> None:
        self.after = after  # numbers start after this: new records for a store holding others
        self.vocab = load_vocab()
        self.cfg = self.vocab.cfg
        self.seed = seed
        self.rng = random.Random(seed)
        self.persons = person_pool(self.rng, self.cfg, max(10, records // 3))
        self.person_cw = zipf_cum_weights(len(self.persons))
        n_invalid = round(records * invalid_rate)
        chosen = self.rng.sample(range(records), n_invalid)
        self.defects = {i: self.rng.choice(DEFECTS) for i in chosen}
        doctypes = self.cfg["doctypes"]
        self.doctypes = doctypes
        self.doctype_cw = list(itertools.accumulate(d["weight"] for d in doctypes))
        self.languages = self.cfg["languages"]
        self.language_cw = list(itertools.accumulate(lang["weight"] for lang in self.languages))
        self.stream = word_stream(self.rng, self.vocab, STREAM_WORDS)

    def start_page(self, page: int) -> None:
        """Draw the records of page ``page`` (from 1) from its own stream."""
        self.rng = random.Random(f"{self.seed}/{page}")

    def authors(self) -> list[str]:
        """1-6 distinct authors, 2-3 most often."""
        want = self.rng.choices((1, 2, 3, 4, 5, 6), weights=(22, 30, 24, 13, 7, 4))[0]
        picked: dict[str, None] = {}
        while len(picked) < want:
            picked[self.rng.choices(self.persons, cum_weights=self.person_cw)[0]] = None
        return list(picked)

    def fields(self, index: int) -> tuple[list[tuple[str, str, str | None]], str, str]:
        """One record's (field, value, lang) rows, its pubnumber and its defect ("" if none)."""
        rng, vocab, cfg = self.rng, self.vocab, self.cfg
        defect = self.defects.get(index, "")
        bad = cfg["invalid_values"]
        doctype = rng.choices(self.doctypes, cum_weights=self.doctype_cw)[0]
        language = rng.choices(self.languages, cum_weights=self.language_cw)[0]
        lang = language["code"]
        pubnumber = f"{doctype['prefix']}-{self.after + index + 1:05d}"
        title = title_text(rng, vocab.words)
        issued = issued_date(rng)
        available = min(issued + timedelta(days=rng.randint(0, 400)), datetime(2026, 12, 31))
        rows: list[tuple[str, str, str | None]] = []
        if defect != "missing-title":
            rows.append(("dc.title", title, lang))
        rows += [("dc.contributor.author", name, None) for name in self.authors()]
        rows += [("dc.contributor.orgunit", d, None) for d in self._some(vocab.divisions, 1, 2)]
        rows += [("dc.coverage", r, None) for r in self._some(vocab.regions, 1, 2)]
        rows.append(("dc.date.available", available.strftime("%Y-%m-%dT%H:%M:%SZ"), None))
        issued_text = bad["date"] if defect == "bad-date" else date_forms(rng, issued)
        rows.append(("dc.date.issued", issued_text, None))
        abstract = sentence_text(rng, self.stream, rng.randint(150, 300))
        rows.append(("dc.description.abstract", abstract, lang))
        pages = min(max(int(rng.lognormvariate(3.6, 0.6)), 4), 600)
        extent = bad["pages"] if defect == "zero-pages" else str(pages)
        rows.append(("dc.format.extent", extent, None))
        doi = f"http://dx.doi.org/{cfg['doi_prefix']}/{1000 + self.after + index:07d}"
        rows.append(("dc.identifier.doi", bad["doi"] if defect == "bad-doi" else doi, None))
        rows.append(("dc.identifier.url", url_for(title, language["folder"]), None))
        rows.append(("dc.language.iso", lang, None))
        rows.append(("dc.publisher", cfg["publisher"], None))
        rows += [("dc.subject", s, lang) for s in self._some(vocab.subjects, 3, 12)]
        jel = self._some(vocab.jel, 1, 4)
        if defect == "bad-jel":
            jel[-1] = bad["jel"]
        rows += [("dc.subject.jelcode", code, None) for code in jel]
        rows.append(("dc.subject.keywords", keywords_text(rng, vocab), lang))
        rows.append(("dc.type", doctype["name"], None))
        rows.append(("idb.identifier.pubnumber", pubnumber, None))
        if rng.random() < 0.35:
            rows.append(("idb.operation", operation_number(rng, cfg), None))
        return rows, pubnumber, defect

    def _some(self, pool: list[str], low: int, high: int) -> list[str]:
        return self.rng.sample(pool, min(len(pool), self.rng.randint(low, high)))


def _leaf(xf, tag: str, text: str, attrs: dict[str, str] | None = None) -> None:
    with xf.element(tag, attrs):
        xf.write(text)


def write_record(xf, gen: Generator, index: int) -> tuple[str, str]:
    """Stream one OAI <record> for record ``index``; return its pubnumber and defect."""
    rows, pubnumber, defect = gen.fields(index)
    cfg = gen.cfg
    stamp = next(v for f, v, _ in rows if f == "dc.date.available")
    xf.write("\n  ")
    with xf.element(f"{{{OAI}}}record"):
        xf.write("\n   ")
        with xf.element(f"{{{OAI}}}header"):
            identifier = f"oai:{cfg['oai_host']}:{handle(cfg, gen.after + index)}"
            _leaf(xf, f"{{{OAI}}}identifier", identifier)
            _leaf(xf, f"{{{OAI}}}datestamp", stamp)
            _leaf(xf, f"{{{OAI}}}setSpec", f"com_{cfg['handle_prefix']}_1")
        xf.write("\n   ")
        with xf.element(f"{{{OAI}}}metadata"):
            schema_location = {f"{{{XSI}}}schemaLocation": DIM_XSD}
            with xf.element(f"{{{DIM}}}dim", schema_location, nsmap={"dim": DIM}):
                for name, value, lang in rows:
                    xf.write("\n    ")
                    _leaf(xf, DIM_FIELD, value, field_attributes(name, lang))
                xf.write("\n   ")
        xf.write("\n  ")
    return pubnumber, defect


def handle(cfg: dict, index: int) -> str:
    """The repository handle of record ``index``, such as 11319/1000."""
    return f"{cfg['handle_prefix']}/{1000 + index}"


@functools.cache
def field_attributes(name: str, lang: str | None) -> dict[str, str]:
    """The dim:field attributes of a DSpace field name such as dc.contributor.author."""
    schema, element, *qualifier = name.split(".", 2)
    attrs = {"mdschema": schema, "element": element}
    if qualifier:
        attrs["qualifier"] = qualifier[0]
    if lang:
        attrs["lang"] = lang
    return attrs


def write_page(path: Path, gen: Generator, first: int, count: int, total: int) -> list:
    """Stream an OAI-PMH ListRecords response holding records first..first+count-1 to path."""
    with etree.xmlfile(str(path), encoding="UTF-8") as xf:
        xf.write_declaration()
        root_attrs = {f"{{{XSI}}}schemaLocation": OAI_XSD}
        with xf.element(f"{{{OAI}}}OAI-PMH", root_attrs, nsmap={None: OAI, "xsi": XSI}):
            xf.write("\n ")
            _leaf(xf, f"{{{OAI}}}responseDate", gen.cfg["response_date"])
            xf.write("\n ")
            request = {"verb": "ListRecords", "metadataPrefix": "dim"}
            endpoint = f"https://{gen.cfg['oai_host']}/server/oai/request"
            _leaf(xf, f"{{{OAI}}}request", endpoint, request)
            xf.write("\n ")
            with xf.element(f"{{{OAI}}}ListRecords"):
                results = [write_record(xf, gen, i) for i in range(first, first + count)]
                xf.write("\n  ")
                token = {"completeListSize": str(total), "cursor": str(first)}
                resume = f"dim////{first + count}" if first + count < total else ""
                _leaf(xf, f"{{{OAI}}}resumptionToken", resume, token)
                xf.write("\n ")
            xf.write("\n")
    return results


def generate(
    records: int, out: Path, per_file: int = 1000, seed: int = 1, invalid_rate: float = 0.03,
    after: int = 0, jobs: int | None = None,
) -> Manifest:
    """Write the corpus to ``out`` (ListRecords-NNNNN.xml + manifest.json); return the manifest.
    ``after``: number the records after that many (publication numbers, DOIs, handles), so
    that they are new to a store holding a corpus generated without it. ``jobs``: processes
    writing pages (default: one a CPU)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(records, per_file, seed, invalid_rate, after=after)
    gen = Generator(records, seed, invalid_rate, after)
    manifest.persons = len(gen.persons)
    pages = [(page, first, min(per_file, records - first))
             for page, first in enumerate(range(0, records, per_file), start=1)]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(pages)))
    global _GENERATOR
    _GENERATOR = gen  # the workers, forked, share it
    if jobs == 1:
        written = [_write(out, records, page) for page in pages]
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            written = pool.starmap(_write, [(out, records, page) for page in pages], chunksize=4)
    kinds: Counter[str] = Counter()
    for name, results in written:
        manifest.files.append(name)
        for pubnumber, defect in results:
            if defect:
                kinds[defect] += 1
                manifest.invalid_records.append(pubnumber)
    manifest.invalid = dict(sorted(kinds.items()))
    text = json.dumps(manifest.__dict__, indent=1, ensure_ascii=False)
    (out / "manifest.json").write_text(text + "\n", encoding="utf-8")
    return manifest


_GENERATOR: Generator | None = None  # the generator of the corpus being written


def _write(out: Path, records: int, page: tuple[int, int, int]) -> tuple[str, list]:
    """Write one page; its file name and its records' (pubnumber, defect)."""
    number, first, count = page
    assert _GENERATOR is not None
    _GENERATOR.start_page(number)
    name = f"ListRecords-{number:05d}.xml"
    return name, write_page(out / name, _GENERATOR, first, count, records)


def read_manifest(out: Path) -> Manifest | None:
    """The manifest of an existing corpus, or None."""
    path = Path(out) / "manifest.json"
    if not path.is_file():
        return None
    return Manifest(**{"text": "uniform", **json.loads(path.read_text(encoding="utf-8"))})


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-file", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invalid-rate", type=float, default=0.03)
    parser.add_argument("--after", type=int, default=0,
                        help="number the records after this many (new to a store of others)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="processes writing pages (default: one a CPU)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = generate(args.records, args.out, args.per_file, args.seed, args.invalid_rate,
                        args.after, args.jobs)
    seconds = time.perf_counter() - started
    print(
        f"{manifest.records} records in {len(manifest.files)} files, "
        f"{sum(manifest.invalid.values())} invalid {manifest.invalid}, "
        f"{manifest.persons} persons; {seconds:.1f} s ({manifest.records / seconds:.0f} records/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
