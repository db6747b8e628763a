"""What the HTML page of each kind of thing shows, built from its description plus a few
kind-specific queries (webapp/queries/*.rq), and the schema.org JSON-LD embedded in it.

    template, context = page(store, queries, description, kind, root="")

Kinds with a page of their own: publication, person, jel, region, org; every other kind
(operation, subject, keyword, doctype, scheme...) gets the generic page. Queries per page: the
two of the description and the vocabularies' version. A kind that lists publications is given
them (``listing``, webapp/discovery/lists.py: a search of the text index, whose facets also
count a person's co-authors and JEL areas and a unit's publications per year). Broader chains
and the labels of the vocabularies' things come from the app's copy of the vocabularies
(vocabulary.py), not from a query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pyoxigraph as ox

from policykg.graph.rdf.namespaces import BIBO, ORG, OWL, PKG, SCHEMA
from policykg.graph.rdf.terms import value_of
from policykg.graph.search.service import FacetValue
from policykg.webapp.citations.csl import csl_item
from policykg.webapp.citations.styles import offered
from policykg.webapp.citations.variants import MEDIA_TYPES
from policykg.webapp.discovery.charts import Chart, Row, coauthor_star, per_year, top_level
from policykg.webapp.discovery.lists import PublicationList
from policykg.webapp.linked_data.describe import (
    DCTERMS,
    FOAF,
    LABEL_PROPERTIES,
    PRIMARY_TOPIC,
    PROV,
    RDF,
    SKOS,
    Description,
    Queries,
    Term,
    best_label,
)
from policykg.webapp.linked_data.language import DEFAULT, LANGUAGE_IRIS, language_name
from policykg.webapp.linked_data.vocabulary import Vocabulary

RDF_TYPE = RDF + "type"
TOP = 20            # co-authors and JEL areas shown
MAX_PATHS = 6       # broader chains shown per concept (regions may sit in several)


@dataclass
class View:
    """Turns the terms of a description into what templates show: labels, local links, CURIEs."""

    description: Description
    queries: Queries
    root: str = ""
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    language: str = DEFAULT  # of the labels shown (language.py)
    _label_cache: dict[Term, str] = field(default_factory=dict, repr=False)

    @property
    def base(self) -> str:
        return self.queries.base

    def href(self, iri: str) -> str | None:
        """Where a link to ``iri`` goes: its document on this server, or the IRI if http(s)."""
        if iri.startswith(self.base):
            path = iri[len(self.base):]
            if path.startswith("id/"):
                path = "doc/" + path[3:]
            return f"{self.root}/{path}"
        return iri if iri.startswith(("http://", "https://")) else None

    def label(self, term: Term) -> str:
        """The best label of a term, else its path under the base or CURIE (IRIs), or value."""
        if term not in self._label_cache:
            self._label_cache[term] = self._label(term)
        return self._label_cache[term]

    def _labels(self, term: Term) -> Sequence[tuple[str, Term]]:
        """Its labels in the description, else in the vocabulary (the parents of what it links
        to are not in the description)."""
        found = self.description.labels.get(term)
        return found if found is not None else self.vocabulary.labels.get(term, [])

    def _label(self, term: Term) -> str:
        found = best_label(self._labels(term), self.language)
        if found:
            return found
        if isinstance(term, ox.NamedNode) and term.value.startswith(LANGUAGE_IRIS):
            name = language_name(term.value[len(LANGUAGE_IRIS):], self.language)
            if name:
                return name
        if not isinstance(term, ox.NamedNode):
            return value_of(term)
        if term.value.startswith(self.base + "graph/"):
            return term.value[len(self.base):]
        return self.queries.curie(term.value)

    def notation(self, term: Term) -> str | None:
        """The skos:notation of a term, if it has a plain one (JEL codes)."""
        values = [value_of(lit) for prop, lit in self._labels(term) if prop == SKOS + "notation"]
        return min(values, key=len) if values else None

    def link(self, term: Term, text: str | None = None) -> dict:
        """A term as a link (IRI), a value (literal) or a bracket (blank node)."""
        if isinstance(term, ox.NamedNode):
            file_name = _source(term.value) if term.value.startswith("file:") else None
            if file_name is not None:  # never the server's folders (_source)
                return {"value": file_name, "lang": None, "datatype": None}
            return {"iri": term.value, "href": self.href(term.value),
                    "label": text or self.label(term)}
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value
            shown = None if datatype.endswith(("#string", "#langString")) else datatype
            return {"value": term.value, "lang": term.language,
                    "datatype": self.queries.curie(shown) if shown else None}
        members = self.description.rdf_list(term)
        return {"list": [self.link(m) for m in members]} if members else {"value": "[ ]"}

    def code_link(self, term: Term) -> dict:
        """A link labelled "code label" (JEL concepts)."""
        code, label = self.notation(term), self.label(term)
        return self.link(term, f"{code} {label}" if code and code != label else label)

    def values(self, predicate: str) -> list[Term]:
        """The objects of the thing for a predicate."""
        return self.description.objects(predicate)

    def links(self, predicate: str, coded: bool = False) -> list[dict]:
        """The objects of the thing for a predicate, as links sorted by label."""
        make = self.code_link if coded else self.link
        return sorted((make(t) for t in self.values(predicate)),
                      key=lambda link: (link.get("label") or link.get("value") or "").lower())

    def literal(self, predicate: str) -> str | None:
        """The best literal of the thing for a predicate (in the page's language, then
        untagged)."""
        literals = [t for t in self.values(predicate) if isinstance(t, ox.Literal)]
        return best_label(((LABEL_PROPERTIES[0], lit) for lit in literals), self.language)

    def statements(self) -> list[dict]:
        """The thing's own triples, grouped by predicate."""
        groups: dict[str, list[Term]] = {}
        for triple in self.description.own:
            if triple.subject == self.description.iri:
                groups.setdefault(triple.predicate.value, []).append(triple.object)
        return [{"predicate": self.link(ox.NamedNode(p), self.queries.curie(p)),
                 "objects": [self.link(o) for o in sorted(objects, key=self._sort_key)]}
                for p, objects in sorted(groups.items(), key=lambda g: self.queries.curie(g[0]))]

    def _sort_key(self, term: Term) -> tuple[str, str]:
        return (self.label(term).lower(), str(term))

    def incoming(self) -> list[dict]:
        """This page of the links to the thing, grouped by the linking subject."""
        groups: dict[Term, list[str]] = {}
        for triple in self.description.incoming:
            groups.setdefault(triple.subject, []).append(triple.predicate.value)
        return [{"subject": self.link(s),
                 "predicates": [self.link(ox.NamedNode(p), self.queries.curie(p)) for p in ps]}
                for s, ps in groups.items()]


# --- hierarchies (broader chains) ---------------------------------------------------------


@dataclass
class BroaderChains:
    """Parent edges (skos:broader, org:subOrganizationOf): the vocabulary's."""

    parents: dict[Term, tuple[Term, ...]] = field(default_factory=dict)

    def paths(self, node: Term, seen: tuple[Term, ...] = ()) -> list[list[Term]]:
        """Every chain from a top concept down to ``node``'s parent (empty for a top)."""
        chains: list[list[Term]] = []
        for parent in sorted(self.parents.get(node, ()), key=str):
            if parent in seen or len(seen) > 12:
                continue
            above = self.paths(parent, (*seen, node)) or [[]]
            chains.extend([*chain, parent] for chain in above)
        return chains[:MAX_PATHS]


def _placed(view: View, hierarchy: BroaderChains, terms: Iterable[Term],
            coded: bool = False) -> list:
    make = view.code_link if coded else view.link
    return [{"term": make(t), "paths": [[make(p) for p in path] for path in hierarchy.paths(t)]}
            for t in sorted(terms, key=lambda t: view.label(t).lower())]


# --- pages ---------------------------------------------------------------------------------


def page(store, queries: Queries, description: Description, kind: str, root: str = "",
         vocabulary: Vocabulary | None = None, language: str = DEFAULT,
         listing: PublicationList | None = None) -> tuple[str, dict]:
    """The template and context of the HTML page of a described thing, its labels in
    ``language`` where they have one; ``listing``: its publications (discovery/lists.py), when
    its kind lists them."""
    view = View(description, queries, root, vocabulary or Vocabulary(), language)
    builder = BUILDERS.get(kind)
    context = builder(store, view, listing) if builder else {}
    context["listing"] = listing
    if listing is not None:
        context["more"] = context.get("more", False) or listing.more
    context.setdefault("more", False)
    context["more"] = context["more"] or description.more
    context["charts"] = _charts(view, kind, listing, context)
    common = _common(view, kind)
    common.update(context)
    common["jsonld"] = script_json(common.pop("schema"))
    return (f"ld_{kind}.html" if builder else "ld_generic.html"), common


def _charts(view: View, kind: str, listing: PublicationList | None, context: dict) -> list[Chart]:
    """The charts of a thing's publications, from the facets its list counted: per year; a
    person's co-authors; a unit's or a region's JEL areas."""
    facets = listing.facets if listing is not None else {}
    found = [per_year(facets.get("year", []))]
    if kind == "person":
        found.append(coauthor_star(context["title"], (
            Row(c["link"]["label"], c["count"], c["link"]["href"]) for c in context["coauthors"])))
    if kind in ("org", "region"):
        found.append(top_level(
            facets.get("jel", []), "jel", "Publications by JEL area", "JEL code",
            label=lambda value: view.code_link(ox.NamedNode(value.value))["label"],
            href=lambda value: view.href(value.value)))
    return [chart for chart in found if chart is not None]


def _common(view: View, kind: str) -> dict:
    description = view.description
    title = view.label(description.iri)
    if title == view.queries.curie(description.iri.value):
        title = description.iri.value.rsplit("/", 1)[-1]
    return {
        "kind": kind, "title": title, "iri": description.iri.value,
        "types": view.links(RDF_TYPE), "statements": view.statements(),
        "incoming": view.incoming(), "page": description.page,
        "per_page": description.per_page,
        "schema": _schema(view, "Thing", name=title),
    }


def publication(store, view: View, listing: PublicationList | None = None) -> dict:
    """A publication: who, where in the Bank, about what, and where it came from."""
    hierarchy = BroaderChains(view.vocabulary.parents)
    title = view.literal(DCTERMS + "title") or view.label(view.description.iri)
    heads = view.values(BIBO + "authorList")
    authors = view.description.rdf_list(heads[0]) if heads else view.values(DCTERMS + "creator")
    doi = view.literal(BIBO + "doi")
    context: dict[str, Any] = {
        "title": title, "abstract": view.literal(DCTERMS + "abstract"),
        "authors": [view.link(a) for a in authors],
        "issued": (view.literal(DCTERMS + "issued") or "")[:10] or None,
        "doctypes": view.links(DCTERMS + "type"), "publisher": view.links(DCTERMS + "publisher"),
        "divisions": _placed(view, hierarchy, view.values(PKG + "division")),
        "regions": _placed(view, hierarchy, view.values(DCTERMS + "spatial")),
        "jel": _placed(view, hierarchy, view.values(PKG + "jel"), coded=True),
        "keywords": view.links(PKG + "keyword"), "subjects": _subjects(view),
        "doi": doi, "doi_url": f"https://doi.org/{quote(doi, safe='/:;()._-')}" if doi else None,
        "pdfs": [value_of(t) for t in view.values(FOAF + "page")
                 if value_of(t).startswith(("http://", "https://"))],
        "pages": view.literal(BIBO + "numPages"),
        "numbers": view.literal(PKG + "publicationNumber"),
        "languages": view.links(DCTERMS + "language"), "operations": view.links(PKG + "operation"),
        "provenance": _provenance(view),
    }
    context["schema"] = _publication_schema(view, context, authors)
    context["citation"] = citation = csl_item(view.description, view.description.iri.value)
    parts = citation.get("issued", {}).get("date-parts", [[]])[0]
    context["citation_date"] = "/".join(f"{part:02d}" for part in parts) or None
    page = view.href(view.description.iri.value)  # the Cite box: the citation variants
    context["cite"] = {"page": page, "styles": offered(),
                       "href": {name: f"{page}.{extension}"
                                for name, (_, extension) in MEDIA_TYPES.items()}}
    return context


def _subjects(view: View) -> list[dict]:
    other = {*view.values(PKG + "jel"), *view.values(PKG + "keyword")}
    return sorted((view.link(t) for t in view.values(DCTERMS + "subject") if t not in other),
                  key=lambda link: link["label"].lower())


def _provenance(view: View) -> list[dict]:
    description = view.description
    records = []
    for graph in description.subjects(PRIMARY_TOPIC, description.iri):
        def first(predicate: str, graph: Term = graph) -> str | None:
            values = description.objects(predicate, graph)
            return value_of(values[0]) if values else None

        records.append({
            "graph": view.link(graph), "source": _source(first(PROV + "wasDerivedFrom")),
            "format": first(PKG + "sourceFormat"), "identifier": first(PKG + "sourceIdentifier"),
            "loaded": first(PROV + "generatedAtTime"), "hash": first(PKG + "contentHash"),
            "mapping": first(PKG + "mapping"),
        })
    return [r for r in records if r["loaded"] or r["source"]]


def _source(iri: str | None) -> str | None:
    """Where a record came from, as a page shows it: a file by its name alone (the folders
    it was loaded from are the server's own), anything else as it is."""
    if iri is None or not iri.startswith("file:"):
        return iri
    return unquote(urlsplit(iri).path.rstrip("/").rsplit("/", 1)[-1]) or None


def person(store, view: View, listing: PublicationList | None = None) -> dict:
    """A person: publications, co-authors, JEL areas (counted over all their publications)."""
    iri = view.description.iri.value
    facets = listing.facets if listing is not None else {}
    coauthors = [{"link": view.link(ox.NamedNode(value.value), value.label),
                  "count": value.count} for value in facets.get("author", [])
                 if value.value != iri]
    areas = [{"link": view.code_link(ox.NamedNode(value.value)), "count": value.count}
             for value in _leaves(facets.get("jel", []))][:TOP]
    name = view.literal(FOAF + "name") or view.label(view.description.iri)
    schema = _schema(view, "Person", name=name,
                     familyName=view.literal(FOAF + "familyName"),
                     givenName=view.literal(FOAF + "givenName"))
    return {"title": name, "coauthors": coauthors, "areas": areas, "schema": schema}


def _leaves(values: list[FacetValue]) -> list[FacetValue]:
    """The values of a hierarchical facet no other value counted lies under, most first."""
    parents = {value.parent for value in values}
    return sorted((value for value in values if value.value not in parents),
                  key=lambda value: -value.count)


def jel(store, view: View, listing: PublicationList | None = None) -> dict:
    """A JEL concept: its place in the classification (its publications, narrower included:
    ``listing``)."""
    hierarchy = BroaderChains(view.vocabulary.parents)
    this = view.description.iri
    code = view.notation(this)
    label = view.label(this)
    return {
        "title": f"{code} {label}" if code and code != label else label, "code": code,
        "paths": [[view.code_link(p) for p in path] for path in hierarchy.paths(this)],
        "narrower": sorted((view.code_link(t) for t in view.values(SKOS + "narrower")),
                           key=lambda link: link["label"]),
        "schema": _schema(view, "DefinedTerm", name=label, termCode=code,
                          inDefinedTermSet=_first_iri(view, SKOS + "inScheme")),
    }


def region(store, view: View, listing: PublicationList | None = None) -> dict:
    """A region or country: where it lies, what lies within (its publications, of places
    within too: ``listing``)."""
    hierarchy = BroaderChains(view.vocabulary.parents)
    this = view.description.iri
    parents = hierarchy.paths(this)
    return {
        "paths": [[view.link(p) for p in path] for path in parents],
        "narrower": view.links(SKOS + "narrower"),
        "notations": [value_of(t) for t in view.values(SKOS + "notation")],
        "schema": _schema(view, "Place", name=view.label(this),
                          containedInPlace=[_ref(view, path[-1], "Place") for path in parents]),
    }


def org(store, view: View, listing: PublicationList | None = None) -> dict:
    """An organisational unit: its place in the Bank, its units (its publications, of its
    units too, and their charts: ``listing``)."""
    hierarchy = BroaderChains(view.vocabulary.parents)
    this = view.description.iri
    parents = hierarchy.paths(this)
    return {
        "paths": [[view.link(p) for p in path] for path in parents],
        "units": view.links(ORG + "hasSubOrganization"),
        "acronyms": sorted({value_of(t) for t in view.values(PKG + "acronym")}),
        "schema": _schema(view, "Organization", name=view.label(this),
                          parentOrganization=[_ref(view, p[-1], "Organization") for p in parents]),
    }


BUILDERS: dict[str, Callable[[object, View, PublicationList | None], dict]] = {
    "publication": publication, "person": person, "jel": jel, "region": region, "org": org,
}


# --- schema.org JSON-LD ----------------------------------------------------------------------


def _schema_types(view: View, default: str) -> list[str] | str:
    types = sorted(value_of(t)[len(SCHEMA):] for t in view.values(RDF_TYPE)
                   if value_of(t).startswith(SCHEMA))
    return types or default


def _schema(view: View, default: str, **values: object) -> dict:
    """A schema.org node for the thing: its types, @id, url, and the non-empty values given."""
    iri = view.description.iri.value
    node: dict[str, object] = {"@context": "https://schema.org",
                               "@type": _schema_types(view, default), "@id": iri, "url": iri}
    node.update({k: v for k, v in values.items() if v not in (None, "", [])})
    same = [value_of(t) for t in view.values(OWL + "sameAs") + view.values(SKOS + "exactMatch")]
    if same:
        node["sameAs"] = same
    return node


def _ref(view: View, term: Term, kind: str) -> dict:
    return {"@type": kind, "@id": value_of(term), "name": view.label(term)}


def _first_iri(view: View, predicate: str) -> str | None:
    iris = [t.value for t in view.values(predicate) if isinstance(t, ox.NamedNode)]
    return iris[0] if iris else None


def _publication_schema(view: View, context: dict, authors: list[Term]) -> dict:
    identifiers = [{"@type": "PropertyValue", "propertyID": name, "value": value}
                   for name, value in (("DOI", context["doi"]), ("IDB", context["numbers"]))
                   if value]
    return _schema(
        view, "CreativeWork", name=context["title"], abstract=context["abstract"],
        author=[_ref(view, a, "Person") for a in authors], datePublished=context["issued"],
        publisher=[_ref(view, t, "Organization") for t in view.values(DCTERMS + "publisher")],
        sourceOrganization=[_ref(view, t, "Organization") for t in view.values(PKG + "division")],
        about=[{"@type": "DefinedTerm", "@id": value_of(t), "name": view.label(t),
                "termCode": view.notation(t)} for t in view.values(PKG + "jel")],
        keywords=[link["label"] for link in context["keywords"]],
        spatialCoverage=[_ref(view, t, "Place") for t in view.values(DCTERMS + "spatial")],
        numberOfPages=int(context["pages"]) if (context["pages"] or "").isdigit() else None,
        identifier=identifiers,
        inLanguage=[value_of(t).rsplit("/", 1)[-1] for t in view.values(DCTERMS + "language")],
        associatedMedia=[{"@type": "MediaObject", "contentUrl": url,
                          "encodingFormat": "application/pdf"} for url in context["pdfs"]],
    )


def script_json(data: dict) -> str:
    """JSON for a <script> element: "</" and "<!--" cannot end or confuse the element. Compact:
    with an indent, json takes its pure-Python encoder (several times slower)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")
