"""The language a page shows its labels in, and languages named in it.

A page is in the language asked for by ``?lang=`` (an ISO 639-1 code), else the first language
of Accept-Language that ISO 639 knows, else English. Its labels are those in that language
where a thing has one (describe.best_label), and a language (an ISO 639 IRI) is shown by its
name in that language, from pycountry's ISO 639 names and their translations:
``http://id.loc.gov/vocabulary/iso639-1/es`` is "Spanish" on an English page, "Español" on a
Spanish one.

    page_language()                   # "es" for ?lang=es
    language_name("en", "es")         # "Inglés"
"""

from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry
from flask import request

LANGUAGE_IRIS = "http://id.loc.gov/vocabulary/iso639-1/"
DEFAULT = "en"


class UnknownLanguage(ValueError):
    """A ``lang`` parameter that names no ISO 639-1 language."""


def _known(code: str) -> bool:
    return len(code) == 2 and pycountry.languages.get(alpha_2=code) is not None


def page_language() -> str:
    """The language of the current request's page (UnknownLanguage for a bad ``lang``)."""
    asked = request.args.get("lang")
    if asked is not None:
        code = asked.split("-")[0].lower()
        if not _known(code):
            raise UnknownLanguage(f"lang: {asked!r} is no ISO 639-1 language code "
                                  "(for example en, es, pt, fr)")
        return code
    for tag, _quality in request.accept_languages:
        code = tag.split("-")[0].lower()
        if _known(code):
            return code
    return DEFAULT


@lru_cache(maxsize=4096)
def language_name(code: str, in_language: str = DEFAULT) -> str | None:
    """The name of an ISO 639-1 language in another language (else in English); None for a
    code that names none."""
    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    if language is None:
        return None
    name: str = language.name
    if in_language != DEFAULT:
        translation = gettext.translation("iso639-3", pycountry.LOCALES_DIR,
                                          languages=[in_language], fallback=True)
        name = translation.gettext(name)
    return name[:1].upper() + name[1:]
