"""The HTML of the terms of a page (a link, a literal or an RDF list) and of their usual
groupings, for the templates as ``term_html(t)``, ``terms_html(ts, cls)``, ``chain_html(path)``
and ``placed_html(items)``: a page shows a hundred terms or more, and as Jinja macros they cost
more than the rest of the page's rendering. Every value is escaped (markupsafe, as Jinja's
autoescape).

    term_html({"iri": "http://x/id/jel/O", "href": "/doc/jel/O", "label": "O Economics"})
    term_html({"value": "Hola", "lang": "es", "datatype": None})
    term_html({"list": [...]})     # the link() dicts of pages.View
    terms_html([t1, t2], "tags")   # <ul class="tags"><li>..</li>..</ul>
    chain_html([top, parent], last=this)   # top, parent, <strong>this</strong>, separated
    placed_html([{"term": t, "paths": [[top, parent]]}])   # each term under its chains
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

SEPARATOR = '<span class="sep" aria-hidden="true"> \u203a </span>'  # a single right angle quote


def term_html(t: dict) -> Markup:
    """A link (with href), a bare IRI, a literal with its language and datatype, or a list."""
    if "list" in t:
        return Markup('<ol class="rdf-list">' + "".join(
            f"<li>{term_html(member)}</li>" for member in t["list"]) + "</ol>")
    if "iri" in t:
        iri, label = escape(t["iri"]), escape(t.get("label", ""))
        if t.get("href"):
            return Markup(f'<a href="{escape(t["href"])}" title="{iri}">{label}</a>')
        return Markup(f'<span class="iri" title="{iri}">{label}</span>')
    return _literal(escape(t.get("value", "")), t.get("lang"), t.get("datatype"))


def _literal(value: Markup, lang: str | None, datatype: str | None) -> Markup:
    if lang:
        tag = escape(lang)
        html = f'<span class="literal" lang="{tag}">{value}</span> <span class="tag">@{tag}</span>'
    else:
        html = f'<span class="literal">{value}</span>'
    if datatype:
        html += f' <span class="tag">{escape(datatype)}</span>'
    return Markup(html)


def terms_html(items: Iterable[dict], cls: str = "inline") -> Markup:
    """A list of terms, one item each."""
    inner = "".join(f"<li>{term_html(t)}</li>" for t in items)
    return Markup(f'<ul class="{escape(cls)}">{inner}</ul>')


def chain_html(path: list[dict], last: dict | None = None) -> Markup:
    """A broader chain, top first; ``last`` (the term placed under it) in bold."""
    parts = [str(term_html(t)) for t in path]
    if last is not None:
        parts.append(f"<strong>{term_html(last)}</strong>")
    return Markup(f'<span class="chain">{SEPARATOR.join(parts)}</span>')


def placed_html(items: Iterable[dict]) -> Markup:
    """Terms each shown under its broader chains (``{"term": t, "paths": [[...], ...]}``)."""
    rows = []
    for item in items:
        paths = item["paths"]
        shown = ("<br>".join(chain_html(path, item["term"]) for path in paths) if paths
                 else term_html(item["term"]))
        rows.append(f"\n  <li>{shown}</li>")
    return Markup(f'<ul class="placed">{"".join(rows)}\n</ul>')
