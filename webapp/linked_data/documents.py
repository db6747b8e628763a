"""Linked data: every IRI under {base}id/ dereferences, after "Cool URIs for the Semantic Web".

- ``GET /id/{kind}/{key}``: 303 See Other to ``/doc/{kind}/{key}`` (404 if nothing is known).
  The 303 does not negotiate: it always names the generic document, so it carries no
  ``Vary: Accept`` and one cached redirect serves every client; negotiation happens once, at
  the document.
- ``GET /doc/{kind}/{key}``: the description, negotiated with ``Vary: Accept`` and a
  ``Content-Location`` naming the variant: Turtle (with no Accept, or */*), HTML, JSON-LD,
  N-Triples, RDF/XML. ``/doc/{kind}/{key}.ttl|.jsonld|.nt|.rdf|.html``: one variant, no
  negotiation. ``?page=N`` pages the links to the thing (hydra:next/previous in the RDF, links in
  the HTML, ``Link: rel="next"``).
  A publication's also negotiates its citations (webapp/citations: ``.bib .ris .csljson .txt``);
  JSON-LD is compacted (jsonld.py), HTML in the page's language (language.py).
- ``GET /graph/{...}``: a named graph is a document: its triples, negotiated the same way.
- ``GET /doc/`` and ``/doc/{kind}/``: what there is, and a kind's listing (paged).

Every representation has an ETag (a hash of its bytes) and, when known, a Last-Modified (the
newest ``prov:generatedAtTime`` of the record graphs involved: a best effort, the ETag is the
validator to rely on); If-None-Match / If-Modified-Since get 304. HEAD and OPTIONS (Allow) come
from Flask. ``Link`` headers name the alternates and the thing a document describes.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack
from datetime import datetime
from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, g, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from policykg.graph.rdf.namespaces import FOAF, HYDRA, RDF
from policykg.graph.rdf.terms import serialized, value_of
from policykg.webapp.citations import variants
from policykg.webapp.citations.styles import UnknownStyle
from policykg.webapp.context import app_store, app_uris, served_root
from policykg.webapp.discovery import lists
from policykg.webapp.linked_data import jsonld, pages, refusals
from policykg.webapp.linked_data.describe import (
    GENERATED_AT,
    PER_PAGE,
    Description,
    Queries,
    best_label,
    describe,
    exists,
    graph_triples,
    parse_time,
)
from policykg.webapp.linked_data.labels import LabelCache
from policykg.webapp.linked_data.language import UnknownLanguage, page_language
from policykg.webapp.linked_data.markup import chain_html, placed_html, term_html, terms_html
from policykg.webapp.linked_data.negotiation import (
    BY_EXTENSION,
    CITATIONS,
    FORMATS,
    HTML,
    TURTLE,
    Format,
    negotiate,
    split_extension,
)
from policykg.webapp.linked_data.vocabulary import Vocabulary, VocabularyCache

blueprint = Blueprint("linked_data", __name__)
for _helper in (term_html, terms_html, chain_html, placed_html):
    blueprint.add_app_template_global(_helper)

SKOS_NOTATION = "http://www.w3.org/2004/02/skos/core#notation"
SORTED_LISTINGS = ("jel", "region", "org", "doctype", "scheme")  # vocabularies: listed in order
GRAPH_PAGE = 500  # triples per HTML page of a named graph (RDF variants hold the whole graph)
REDIRECT_MAX_AGE = 3600  # seconds a 303 from /id/ may be cached


# --- shared state ----------------------------------------------------------------------------



@blueprint.before_request
def _one_snapshot() -> None:
    """Every query of one request reads one snapshot of an embedded store: the page agrees
    with itself, and the store's folder is checked once rather than at each query."""
    snapshot = getattr(app_store(), "snapshot", None)
    if snapshot is not None:
        g.policykg_snapshot = stack = ExitStack()
        stack.enter_context(snapshot())


@blueprint.teardown_request
def _release_snapshot(_error: BaseException | None) -> None:
    stack = g.pop("policykg_snapshot", None)
    if stack is not None:
        stack.close()


def _queries() -> Queries:
    extensions = current_app.extensions
    if "policykg.linked_data" not in extensions:
        extensions["policykg.linked_data"] = Queries(app_uris().base)
    return extensions["policykg.linked_data"]


def _vocabulary() -> Vocabulary:
    """The store's reference vocabularies, kept per app while their version holds."""
    cache = current_app.extensions.setdefault("policykg.vocabulary", VocabularyCache())
    return cache.get(app_store(), _queries())


def _labels() -> dict:
    """The label cache at the store's current generation (labels.py)."""
    cache = current_app.extensions.setdefault("policykg.labels", LabelCache())
    return cache.current(app_store())


def _kinds() -> dict[str, dict]:
    """kind -> name, predicate and object that list it (kinds.rq, read once per app)."""
    extensions = current_app.extensions
    if "policykg.kinds" not in extensions:
        rows = _queries().run(app_store(), "kinds")
        extensions["policykg.kinds"] = {
            row["kind"].value: {"name": row["name"].value, "predicate": row["predicate"],
                                "object": row["object"]} for row in rows}
    return extensions["policykg.kinds"]


def _page() -> int:
    return refusals.page_number(request.args)  # BadParameter: 400 (bad_request)


def _per_page() -> int:
    """Links (and publications) per page: app.config["LINKED_DATA_PAGE_SIZE"], else 100."""
    return int(current_app.config.get("LINKED_DATA_PAGE_SIZE", PER_PAGE))


# --- routes ----------------------------------------------------------------------------------


@blueprint.get("/id/<kind>/<path:key>")
def thing(kind: str, key: str) -> WerkzeugResponse:
    """A thing's IRI: 303 See Other to the document that describes it."""
    uris = app_uris()
    iri = str(uris.id(kind, key))
    if not exists(app_store(), _queries(), iri):
        return not_found(iri, kind, negotiate(), negotiated=True)
    response = current_app.redirect(_local(_doc_path(iri)), 303)
    response.headers["Link"] = f'<{_local(_doc_path(iri))}>; rel="describedby"'
    response.cache_control.public = True  # the same for every client: it does not negotiate
    response.cache_control.max_age = REDIRECT_MAX_AGE
    return response


@blueprint.get("/doc/<kind>/<path:key>")
def document(kind: str, key: str) -> Response:
    """The description of a thing, in the variant asked for by extension or Accept."""
    uris = app_uris()
    citations = kind == "publication"
    stem, chosen = split_extension(key, citations)
    page, size, vocabulary, labels = _page(), _per_page(), _vocabulary(), _labels()
    description = describe(app_store(), _queries(), str(uris.id(kind, stem)), page, size,
                           vocabulary, labels)
    if chosen and not description.exists:
        chosen = None
        description = describe(app_store(), _queries(), str(uris.id(kind, key)), page, size,
                               vocabulary, labels)
    fmt = chosen or negotiate(citations)
    if not description.exists:
        return not_found(description.iri.value, kind, fmt, negotiated=chosen is None)
    if fmt is None:
        return not_acceptable(_doc_path(description.iri.value), citations)
    return _document_response(description, kind, fmt, vocabulary, negotiated=chosen is None)


@blueprint.get("/graph/<path:name>")
def graph(name: str) -> Response:
    """A named graph: its triples, in the variant asked for by extension or Accept."""
    stem, chosen = split_extension(name)
    iri = _graph_iri(stem)
    triples = graph_triples(app_store(), _queries(), iri)
    if chosen and triples is None:
        chosen, iri = None, _graph_iri(name)
        triples = graph_triples(app_store(), _queries(), iri)
    fmt = chosen or negotiate()
    if triples is None:
        return not_found(iri, None, fmt, negotiated=chosen is None)
    if fmt is None:
        return not_acceptable(iri[len(_queries().base):])
    return _graph_response(iri, triples, fmt, negotiated=chosen is None)


def _graph_iri(name: str) -> str:
    """{base}graph/{name}, each path segment quoted as Uris quotes keys."""
    return _queries().base + "graph/" + quote(name, safe="/-._~")


@blueprint.get("/context.jsonld")
def jsonld_context() -> Response:
    """The JSON-LD context of the app's JSON-LD documents."""
    body = jsonld.context_text().encode("utf-8")
    return finish(body, BY_EXTENSION["jsonld"], False, [], None)


@blueprint.get("/doc/")
def browse() -> str:
    """What there is to browse: one listing per kind."""
    kinds = [{"kind": k, "name": v["name"], "href": f"{request.script_root}/doc/{k}/"}
             for k, v in _kinds().items()]
    return render_template("ld_browse.html", kinds=kinds, base=_queries().base)


@blueprint.get("/doc/<kind>/")
def listing(kind: str) -> Response | str:
    """One page of the things of a kind, with their labels (JEL codes with their codes); the
    publications newest first, as hits of a search."""
    spec = _kinds().get(kind)
    if spec is None:
        return not_found(_queries().base + f"id/{quote(kind)}/", None, HTML, negotiated=False)
    page, size = _page(), _per_page()
    if kind == "publication":
        found = lists.all_publications(page, size)
        return render_template("ld_listing.html", kind=kind, name=spec["name"], items=[],
                               found=found, page=found.page,
                               **_listing_pager(found.page, found.more))
    query = "listing-sorted" if kind in SORTED_LISTINGS else "listing"
    rows = _queries().run(app_store(), query, {"predicate": spec["predicate"],
                                                "object": spec["object"]},
                          limit=size + 1, offset=(page - 1) * size)
    labels: dict[str, list] = {}
    for row in rows:
        found_labels = labels.setdefault(row["thing"].value, [])
        if row["label"] is not None:
            found_labels.append((row["labelP"].value, row["label"]))
    view = pages.View(Description(ox.NamedNode(_queries().base)), _queries(),
                      request.script_root)
    items = [{"href": view.href(iri), "label": _listed_label(kind, found_labels, iri),
              "iri": iri} for iri, found_labels in list(labels.items())[:size]]
    return render_template("ld_listing.html", kind=kind, name=spec["name"], items=items,
                           found=None, page=page, **_listing_pager(page, len(labels) > size))


def _listed_label(kind: str, labels: list, iri: str) -> str:
    """A thing's label in a listing: a JEL code before its name."""
    label = best_label(labels) or iri.rsplit("/", 1)[-1]
    codes = [value_of(term) for prop, term in labels if prop == SKOS_NOTATION]
    if kind == "jel" and codes and not label.startswith(min(codes, key=len)):
        return f"{min(codes, key=len)} {label}"
    return label


def _listing_pager(page: int, more: bool) -> dict[str, str | None]:
    here = request.script_root + request.path
    return {"prev_href": _page_href(here, page - 1),
            "next_href": _page_href(here, page + 1) if more else None}


# --- documents -------------------------------------------------------------------------------


def _doc_path(iri: str) -> str:
    """doc/{kind}/{key} for {base}id/{kind}/{key}."""
    return "doc/" + iri[len(_queries().base) + len("id/"):]


def _local(path: str) -> str:
    """An absolute path on this server (under the app's script root) for a base-relative path."""
    return f"{request.script_root}/{path}"


def _page_href(path: str, page: int) -> str | None:
    if page < 1:
        return None
    return _numbered(path, page)


def _numbered(path: str, page: int) -> str:
    """The href of page 1 or later."""
    return path if page == 1 else f"{path}?page={page}"


def _document_response(description: Description, kind: str, fmt: Format,
                       vocabulary: Vocabulary, negotiated: bool) -> Response:
    iri = description.iri.value
    path = _doc_path(iri)
    page = description.page
    suffix = None if negotiated else fmt
    if fmt.citation:
        return _citation_response(description, fmt, negotiated)
    if fmt is HTML:
        try:
            language = page_language()
        except UnknownLanguage as error:
            return bad_request(str(error))
        listing = lists.thing_publications(kind, iri, page, description.per_page)
        template, context = pages.page(app_store(), _queries(), description, kind,
                                       request.script_root, vocabulary, language, listing)
        more = context["more"]
        paging = _paging(path, page, more, suffix)
        context.update(prev_href=paging.get("prev"), next_href=paging.get("next"),
                       formats=_alternates(path, page, None))
        body = render_template(template, **context).encode("utf-8")
    else:
        more = description.more
        paging = _paging(path, page, more, suffix)
        body = serialize(description.triples() + _document_triples(description, path), fmt,
                         description.iri)
    links = [f'<{iri}>; rel="describes http://xmlns.com/foaf/0.1/primaryTopic"',
             *_alternate_links(path, page, suffix),
             *(f'<{href}>; rel="{rel}"' for rel, href in paging.items())]
    location = _variant(path, page, fmt) if negotiated else None
    return finish(body, fmt, negotiated, links, description.modified, location)


def _citation_response(description: Description, fmt: Format, negotiated: bool) -> Response:
    """A citation variant of a publication (webapp/citations/variants.py)."""
    try:
        body = variants.requested(description, fmt.citation or "", fmt.media_type, request)
    except UnknownStyle as error:
        return bad_request(str(error))
    path = _doc_path(description.iri.value)
    links = [f'<{description.iri.value}>; rel="describes"', *_alternate_links(path, 1, None)]
    location = _local(f"{path}.{fmt.extension}") if negotiated else None
    return finish(body.encode("utf-8"), fmt, negotiated, links, description.modified, location)


def _graph_response(iri: str, triples: list[ox.Triple], fmt: Format,
                    negotiated: bool) -> Response:
    path = iri[len(_queries().base):]
    times = (parse_time(t.object) for t in triples
             if value_of(t.subject) == iri and t.predicate.value == GENERATED_AT)
    modified = max((t for t in times if t), default=None)
    suffix = None if negotiated else fmt
    if fmt.rdf is None:
        page = _page()
        paging = _paging(path, page, len(triples) > page * GRAPH_PAGE, suffix)
        body = render_template(
            "ld_graph.html", title=path, iri=iri, count=len(triples), page=page,
            rows=_graph_rows(iri, triples[(page - 1) * GRAPH_PAGE:page * GRAPH_PAGE]),
            formats=_alternates(path, 1, None), prev_href=paging.get("prev"),
            next_href=paging.get("next"),
        ).encode("utf-8")
    else:
        body = serialize(triples, fmt, ox.NamedNode(iri))
    location = _variant(path, 1, fmt) if negotiated else None
    return finish(body, fmt, negotiated, _alternate_links(path, 1, suffix), modified, location)


def _graph_rows(iri: str, triples: list[ox.Triple]) -> list[list[dict]]:
    view = pages.View(Description(ox.NamedNode(iri), own=set(triples)), _queries(),
                      request.script_root)
    curie = _queries().curie
    return [[view.link(t.subject), view.link(t.predicate, curie(t.predicate.value)),
             view.link(t.object)] for t in triples]


def _document_triples(description: Description, path: str) -> list[ox.Triple]:
    """The document itself: a foaf:Document about the thing; a hydra view when paged."""
    base = _queries().base
    doc = ox.NamedNode(base + (_page_href(path, description.page) or path))
    triples = [ox.Triple(doc, ox.NamedNode(RDF + "type"), ox.NamedNode(FOAF + "Document")),
               ox.Triple(doc, ox.NamedNode(FOAF + "primaryTopic"), description.iri)]
    if description.page > 1 or description.more:
        numbers = {"first": 1, "previous": description.page - 1,
                   "next": description.page + 1 if description.more else 0}
        triples.append(ox.Triple(doc, ox.NamedNode(RDF + "type"),
                                 ox.NamedNode(HYDRA + "PartialCollectionView")))
        triples.extend(ox.Triple(doc, ox.NamedNode(HYDRA + name),
                                 ox.NamedNode(base + _numbered(path, number)))
                       for name, number in numbers.items() if number >= 1)
    return triples


def serialize(triples: list[ox.Triple], fmt: Format, topic: ox.NamedNode | None = None) -> bytes:
    """RDF bytes in a format, abbreviated with the shared prefixes where the syntax allows;
    JSON-LD compacted with the app's context (jsonld.py). The same triples in any order give
    the same bytes (the ETag is their hash), the topic's first."""
    if fmt.rdf == ox.RdfFormat.JSON_LD:
        return jsonld.compacted(triples, served_root() + jsonld.CONTEXT_FILE,
                                topic.value if topic else None)
    prefixes = _queries().prefixes if fmt.extension in ("ttl", "rdf") else None
    ordered = sorted(triples, key=lambda t: (t.subject != topic, str(t.subject),
                                             t.predicate.value, str(t.object)))
    return serialized(ordered, fmt.rdf, prefixes)


def _variant(path: str, page: int, fmt: Format) -> str:
    suffixed = f"{path}.{fmt.extension}"
    return _local(_page_href(suffixed, page) or suffixed)


def _alternates(path: str, page: int, current: Format | None) -> list[dict]:
    return [{"extension": f.extension, "media_type": f.media_type, "href": _variant(path, page, f)}
            for f in FORMATS if f is not current]


def _alternate_links(path: str, page: int, current: Format | None) -> list[str]:
    return [f'<{a["href"]}>; rel="alternate"; type="{a["media_type"]}"'
            for a in _alternates(path, page, current)]


def _paging(path: str, page: int, more: bool, suffix: Format | None) -> dict[str, str]:
    """rel -> href of the first, previous and next pages (in the variant asked for by suffix)."""
    target = path if suffix is None else f"{path}.{suffix.extension}"
    numbers = {"first": 1 if page > 1 else 0, "prev": page - 1, "next": page + 1 if more else 0}
    return {rel: _local(_numbered(target, n)) for rel, n in numbers.items() if n >= 1}


# --- responses -------------------------------------------------------------------------------


def finish(body: bytes, fmt: Format, negotiated: bool, links: list[str],
           modified: datetime | None, location: str | None = None) -> Response:
    """A response with validators (ETag, Last-Modified), Vary, Link; 304 when not modified."""
    response = Response(body, mimetype=fmt.media_type)
    if fmt.citation and not fmt.media_type.startswith("text/"):
        response.content_type = f"{fmt.media_type}; charset=utf-8"
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    if modified is not None:
        response.last_modified = modified
    if negotiated:
        response.vary.add("Accept")
    if fmt is HTML:  # labels in the language asked for (language.py)
        response.vary.add("Accept-Language")
    if location:
        response.headers["Content-Location"] = location
    if links:
        response.headers["Link"] = ", ".join(links)
    response.cache_control.no_cache = True
    # werkzeug types make_conditional as giving its Response; it gives self, this one
    return response.make_conditional(request)  # type: ignore[return-value]


def not_found(iri: str, kind: str | None, fmt: Format | None, negotiated: bool) -> Response:
    """404: an HTML page for browsers, a hydra:Error in the RDF syntax asked for by RDF clients
    (refusals.py); both say where to go."""
    hints = _hints(kind)
    if fmt is HTML or fmt is None:
        body = render_template("ld_not_found.html", iri=iri, hints=hints, title="Not found",
                               search=_search(kind))
        response = Response(body, status=404, mimetype="text/html")
    else:
        fmt = fmt if fmt.rdf is not None else TURTLE  # a citation format: Turtle
        urls = [(label, request.host_url.rstrip("/") + href) for label, href in hints]
        rdf = refusals.not_found_comments(iri, urls) if fmt.extension in ("ttl", "nt") else b""
        rdf += serialize(refusals.not_found_triples(iri, urls), fmt)
        response = Response(rdf, status=404, mimetype=fmt.media_type)
    if negotiated:
        response.vary.add("Accept")
    return response


def _hints(kind: str | None) -> list[tuple[str, str]]:
    root = request.script_root
    hints = []
    if kind and kind in _kinds():
        hints.append((f"Browse the {_kinds()[kind]['name'].lower()}", f"{root}/doc/{kind}/"))
    hints += [("Browse everything", f"{root}/doc/"), ("Search with SPARQL", f"{root}/sparql"),
              ("Ready-made queries", f"{root}/api/queries")]
    return hints


def _search(kind: str | None) -> dict[str, str]:
    """The search page to look with: publications by a person's name, else by their texts."""
    label = "Find a person's publications by name" if kind == "person" else "Find publications"
    return {"action": f"{request.script_root}/search", "parameter": "q", "label": label}


@blueprint.errorhandler(refusals.BadParameter)
def bad_request(message: str | Exception) -> Response:
    """400, with the message that names the parameter."""
    return Response(f"400 Bad Request. {message}\n", status=400, mimetype="text/plain")


def not_acceptable(path: str, citations: bool = False) -> Response:
    """406: none of the variants is acceptable; the list of those there are."""
    lines = ["406 Not Acceptable. Available:",
             *(f"{f.media_type}: {_local(path)}.{f.extension}"
               for f in (FORMATS + CITATIONS if citations else FORMATS))]
    response = Response("\n".join(lines) + "\n", status=406, mimetype="text/plain")
    response.vary.add("Accept")
    response.headers["Link"] = ", ".join(_alternate_links(path, 1, None))
    return response
