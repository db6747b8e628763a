"""The citation variants of a publication's document, as doi.org negotiates them: BibTeX, RIS,
CSL-JSON and a formatted reference (``text/x-bibliography``, its style and locale given as
parameters of the media type or of the query: ``style=apa``, ``locale=fr-FR``).

    text = cited(description, iri, "bibtex")
    text = cited(description, iri, "bibliography", style="mla", locale="es")
"""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request

from policykg.webapp.citations import export
from policykg.webapp.citations.csl import CSLItem, csl_item
from policykg.webapp.citations.styles import (
    default_locale,
    formatted,
    offered,
    resolve_locale,
    resolve_style,
)
from policykg.webapp.linked_data.describe import Description

BIBLIOGRAPHY = "text/x-bibliography"
# variant name -> (media type, file extension)
MEDIA_TYPES = {"bibtex": ("application/x-bibtex", "bib"),
               "ris": ("application/x-research-info-systems", "ris"),
               "csljson": ("application/vnd.citationstyles.csl+json", "csljson"),
               "bibliography": (BIBLIOGRAPHY, "txt")}
WRITERS: dict[str, Callable[[list[CSLItem]], str]] = {
    "bibtex": export.bibtex, "ris": export.ris, "csljson": export.csl_json}


def cited(description: Description, iri: str, variant: str, style: str | None = None,
          locale: str | None = None) -> str:
    """The publication ``iri`` of the description as a citation variant; a reference in the
    default style and locale unless asked for others (UnknownStyle names a bad one)."""
    item = csl_item(description, iri)
    if variant == "bibliography":
        path = resolve_style(style or offered()[0].key)
        return formatted(item, path, resolve_locale(locale or default_locale())) + "\n"
    return WRITERS[variant]([item])


def requested(description: Description, variant: str, media_type: str, request: Request) -> str:
    """The variant of the described publication a request asks for: its style and locale from
    the query, else from the parameters of the media type in its Accept header."""
    asked = media_parameters(request.accept_mimetypes, media_type)
    return cited(description, description.iri.value, variant,
                 style=request.args.get("style") or asked.get("style"),
                 locale=request.args.get("locale") or asked.get("locale"))


def media_parameters(accept: MIMEAccept, media_type: str) -> dict[str, str]:
    """The parameters a client gave a media type in its Accept header
    (``text/x-bibliography; style=apa`` -> {"style": "apa"})."""
    for value, _quality in accept:
        media, options = parse_options_header(value)
        if media.lower() == media_type:
            return options
    return {}


def plain_accept(accept: MIMEAccept) -> MIMEAccept:
    """The Accept header without media type parameters other than q, which werkzeug would
    otherwise require the offered type to have too."""
    return MIMEAccept([(parse_options_header(value)[0], quality) for value, quality in accept])
