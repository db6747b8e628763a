"""The namespaces the graph is written in, defined once.

Each is an rdflib ``Namespace``, a ``str``: ``PKG.word`` is a URIRef, ``PKG + "word"`` the IRI
as text (for pyoxigraph's ``NamedNode`` or a dictionary key).
"""

from __future__ import annotations

from rdflib import Namespace

PKG = Namespace("https://w3id.org/policykg/ontology#")
DSF = Namespace("https://w3id.org/policykg/dspace-field/")  # DSpace fields with no rule

BIBO = Namespace("http://purl.org/ontology/bibo/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ORG = Namespace("http://www.w3.org/ns/org#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
PROV = Namespace("http://www.w3.org/ns/prov#")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
SCHEMA = Namespace("http://schema.org/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
VOID = Namespace("http://rdfs.org/ns/void#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")

# The prefixes people read these namespaces by.
PREFIXES: dict[str, Namespace] = {
    "pkg": PKG, "dsf": DSF, "bibo": BIBO, "dcterms": DCTERMS, "foaf": FOAF, "hydra": HYDRA,
    "org": ORG, "owl": OWL, "prov": PROV, "rdf": RDF, "rdfs": RDFS, "schema": SCHEMA,
    "skos": SKOS, "void": VOID, "xsd": XSD,
}


def prefixed(iri: str) -> str:
    """An IRI as a prefixed name (pkg:Publication) where one of PREFIXES is its namespace and
    the rest is a plain local name; else the IRI itself."""
    for prefix, namespace in PREFIXES.items():
        local = iri.removeprefix(namespace)
        if local != iri and local.replace("_", "a").replace("-", "a").isalnum():
            return f"{prefix}:{local}"
    return iri
