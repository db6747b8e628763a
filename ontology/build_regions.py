"""Generate ontology/regions.ttl: countries and regions as SKOS concepts and dcterms:Locations.

Reads sources/regions.toml (regions with their labels; countries by ISO alpha-2 code with their
broader regions and IDB membership). Country names in en/es/pt/fr and the alpha-3 and numeric
(= UN M49) codes come from pycountry and its gettext catalogues.

Run: ``python -m policykg.ontology.build_regions [-o PATH]``.
"""

from __future__ import annotations

import argparse
import gettext
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import pycountry
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from policykg.ontology.build_jel import PLACEHOLDER, serialize_relative

PKG = Namespace("https://w3id.org/policykg/ontology#")
OUTPUT = Path(__file__).with_name("regions.ttl")
SCHEME = URIRef(PLACEHOLDER + "id/scheme/regions")
# label language tag -> gettext catalogue languages, in order of preference
LANGUAGES = {"es": ["es"], "pt": ["pt_BR", "pt"], "fr": ["fr"]}


def load_sources() -> dict[str, Any]:
    """The parsed sources/regions.toml."""
    text = (files("policykg.ontology") / "sources" / "regions.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def region_iri(key: str) -> URIRef:
    """The (placeholder-based) IRI of a region or country."""
    return URIRef(f"{PLACEHOLDER}id/region/{key}")


def add_labels(graph: Graph, node: URIRef, labels: dict[str, list[str]]) -> None:
    """Per language, the first label is the prefLabel, the others (deduplicated) altLabels."""
    for lang, (pref, *alts) in labels.items():
        graph.add((node, SKOS.prefLabel, Literal(pref, lang=lang)))
        for alt in dict.fromkeys(alts):
            if alt != pref:
                graph.add((node, SKOS.altLabel, Literal(alt, lang=lang)))


def add_concept(graph: Graph, key: str, labels: dict[str, list[str]], broader: list[str]) -> URIRef:
    """Add a concept of the regions scheme with its labels and hierarchy."""
    node = region_iri(key)
    graph.add((node, RDF.type, SKOS.Concept))
    graph.add((node, RDF.type, DCTERMS.Location))
    graph.add((node, SKOS.inScheme, SCHEME))
    add_labels(graph, node, labels)
    for parent in broader:
        graph.add((node, SKOS.broader, region_iri(parent)))
        graph.add((region_iri(parent), SKOS.narrower, node))
    if not broader:
        graph.add((node, SKOS.topConceptOf, SCHEME))
        graph.add((SCHEME, SKOS.hasTopConcept, node))
    return node


def add_region(graph: Graph, key: str, entry: dict[str, Any], links: dict[str, str]) -> None:
    """Add a region of regions.toml with its M49 code and links."""
    labels = {lang: [pref, *entry.get("alt", {}).get(lang, [])]
              for lang, pref in entry["label"].items()}
    node = add_concept(graph, key, labels, entry["broader"])
    if "m49" in entry:
        graph.add((node, SKOS.notation, Literal(entry["m49"], datatype=PKG.M49Code)))
    if "lcc_m49" in entry:
        graph.add((node, SKOS.exactMatch, URIRef(links["lcc_m49"] + entry["lcc_m49"])))
    if "wikidata" in entry:
        graph.add((node, SKOS.exactMatch, URIRef(links["wikidata"] + entry["wikidata"])))
    if "wikidata_close" in entry:
        graph.add((node, SKOS.closeMatch, URIRef(links["wikidata"] + entry["wikidata_close"])))


def country_labels(country: Any, catalogues: dict[str, gettext.NullTranslations]) -> dict:
    """Labels per language: the short (common) name first, then formal names that translate."""
    names = [name for name in (getattr(country, "common_name", None), country.name,
                               getattr(country, "official_name", None)) if name]
    labels = {"en": names}
    for lang, catalogue in catalogues.items():
        pairs = [(catalogue.gettext(name), name) for name in names]
        # a formal name the catalogue does not translate would be English under another tag
        labels[lang] = [pairs[0][0], *(text for text, name in pairs[1:] if text != name)]
    return labels


def add_country(graph: Graph, code: str, entry: dict[str, Any], links: dict[str, str],
                catalogues: dict[str, gettext.NullTranslations]) -> None:
    """Add a country of regions.toml, named and coded from pycountry."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"not an ISO 3166-1 alpha-2 code: {code}")
    node = add_concept(graph, code, country_labels(country, catalogues), entry["broader"])
    graph.add((node, SKOS.notation, Literal(country.alpha_2, datatype=PKG.ISO3166Alpha2)))
    graph.add((node, SKOS.notation, Literal(country.alpha_3, datatype=PKG.ISO3166Alpha3)))
    graph.add((node, SKOS.notation, Literal(country.numeric, datatype=PKG.M49Code)))
    graph.add((node, SKOS.exactMatch, URIRef(links["eu_country"] + country.alpha_3)))
    if "wikidata" in entry:
        graph.add((node, SKOS.exactMatch, URIRef(links["wikidata"] + entry["wikidata"])))
    if "idb" in entry:
        borrowing = {"borrowing": True, "non-borrowing": False}[entry["idb"]]
        graph.add((node, PKG.idbBorrowingMember, Literal(borrowing)))


def check_broader(sources: dict[str, Any]) -> None:
    """Every broader slug must name a region of the file."""
    entries = [*sources["regions"].values(), *sources["countries"].values()]
    unknown = {b for entry in entries for b in entry["broader"]} - set(sources["regions"])
    if unknown:
        raise ValueError(f"unknown broader regions: {sorted(unknown)}")


def build_graph() -> Graph:
    """The whole regions scheme."""
    sources = load_sources()
    check_broader(sources)
    graph = Graph(bind_namespaces="core")
    graph.bind("skos", SKOS)
    graph.bind("dcterms", DCTERMS)
    graph.bind("pkg", PKG)
    graph.add((SCHEME, RDF.type, SKOS.ConceptScheme))
    graph.add((SCHEME, SKOS.notation, Literal(sources["scheme"]["notation"])))
    add_labels(graph, SCHEME, {lang: [label] for lang, label in sources["scheme"]["label"].items()})
    catalogues = {lang: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=names)
                  for lang, names in LANGUAGES.items()}
    for key, entry in sources["regions"].items():
        add_region(graph, key, entry, sources["links"])
    for code, entry in sources["countries"].items():
        add_country(graph, code, entry, sources["links"], catalogues)
    return graph


def main(argv: list[str] | None = None) -> None:
    """Command line: write regions.ttl (or the given path)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    serialize_relative(build_graph(), args.output, "policykg.ontology.build_regions")


if __name__ == "__main__":
    main()
