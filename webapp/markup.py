"""The HTML of one term of a page (a link, a literal or an RDF list), for the templates as
``term_html(t)``: a page shows a hundred or more, and as a Jinja macro they cost more than the
rest of the page's rendering. Every value is escaped (markupsafe, as Jinja's autoescape).

    term_html({"iri": "http://x/id/jel/O", "href": "/doc/jel/O", "label": "O Economics"})
    term_html({"value": "Hola", "lang": "es", "datatype": None})
    term_html({"list": [...]})     # the link() dicts of pages.View
"""

from __future__ import annotations

from markupsafe import Markup, escape


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
