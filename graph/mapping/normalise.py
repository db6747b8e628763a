"""Normalising the values records carry: DOIs, dates, names, page counts, languages, keys."""

from __future__ import annotations

import gettext
import re
import unicodedata
from datetime import datetime
from functools import cache, lru_cache
from urllib.parse import quote

import pycountry
import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import XSD


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message says what was expected."""


class DoubtfulValue(InvalidValue):
    """A value that cannot be normalised but leaves the record whole: it is kept as written,
    with a Warning (DSpace's own language choices "other" and "N/A", for one)."""


_DOI_PREFIXES = re.compile(
    r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|info:doi/)", re.IGNORECASE
)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def doi(value: str) -> str:
    """A DOI bare and lower-case, from '10.x/..', 'doi:..', 'http://dx.doi.org/..', 'https://doi.org/..'."""
    bare = _DOI_PREFIXES.sub("", value.strip()).strip().lower()
    if not _DOI.match(bare):
        raise InvalidValue(f"'{value}' is not a DOI (expected 10.NNNN/suffix)")
    return bare


# What a DOI may hold that an IRI may not (RFC 3987), or that would end the IRI's path early:
# percent-encoded in its https://doi.org/ form, as the DOI Handbook asks (3.5.2).
_DOI_IRI_SAFE = "/:;()[]!$&'*+,=@-._~"


def doi_iri(bare: str) -> URIRef:
    """The resolver IRI of a bare DOI, characters an IRI cannot hold percent-encoded:
    '10.1002/(sici)...<693::aid-asi4>...' -> 'https://doi.org/10.1002/(sici)...%3C693::aid-asi4%3E...'"""
    return URIRef("https://doi.org/" + quote(bare, safe=_DOI_IRI_SAFE))


def web_address(value: str) -> URIRef:
    """An http(s) IRI as the store's own parser accepts it, else InvalidValue."""
    value = value.strip()
    if value.startswith(("http://", "https://")):
        try:
            return URIRef(ox.NamedNode(value).value)
        except ValueError as error:
            raise InvalidValue(f"'{value}' is not a web address ({error})") from None
    raise InvalidValue(f"'{value}' is not a web address")


@lru_cache(maxsize=1024)  # asked for each text value; a repository uses a few qualifiers
def language_tag(qualifier: str | None) -> str | None:
    """The BCP 47 tag of a value's language qualifier ('en_US' -> 'en-us', as DSpace writes
    it), None for none or for one that is no tag ('*', 'English (US)'): the value is kept
    without its qualifier."""
    if not qualifier:
        return None
    try:
        return ox.Literal("", language=qualifier.strip().replace("_", "-")).language
    except ValueError:
        return None


_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (datetime(2000, number, 1).strftime("%B"), datetime(2000, number, 1).strftime("%b"))
}
_DATE_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$"),
     "dateTime"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "date"),
    (re.compile(r"^\d{4}/\d{2}/\d{2}$"), "slashed"),
    (re.compile(r"^\d{4}-\d{2}$"), "gYearMonth"),
    (re.compile(r"^\d{4}$"), "gYear"),
    (re.compile(r"^([A-Za-z]+)\.?\s+(\d{4})$"), "month-name"),
]


def date(value: str) -> Literal:
    """A typed date literal (xsd:dateTime, date, gYearMonth or gYear) from the forms records use."""
    text = value.strip()
    for pattern, form in _DATE_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        if form == "dateTime":
            if len(text) == 16:
                text += ":00"
            return _checked(text, XSD.dateTime, value)
        if form == "date":
            return _checked(text, XSD.date, value)
        if form == "slashed":
            return _checked(text.replace("/", "-"), XSD.date, value)
        if form == "gYearMonth":
            return _checked(text + "-01", XSD.gYearMonth, value, lexical=text)
        if form == "gYear":
            return Literal(text, datatype=XSD.gYear)
        month = _MONTHS.get(match.group(1).lower())
        if month:
            return Literal(f"{match.group(2)}-{month:02d}", datatype=XSD.gYearMonth)
    raise InvalidValue(f"'{value}' is not a date (expected e.g. 2023-03-08, 2020, March 2024)")


def _checked(text: str, datatype: URIRef, original: str, lexical: str | None = None) -> Literal:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidValue(f"'{original}' is not a valid date: {error}") from None
    return Literal(lexical or text, datatype=datatype)


def page_count(value: str) -> int:
    """The number of pages from '64', '64 p.', '64 pages', 'xii, 64 p.'."""
    numbers = re.findall(r"\d+", value)
    if not numbers:
        raise InvalidValue(f"'{value}' is not a page count")
    return int(numbers[-1])


def language_parts(value: str) -> list[str]:
    """The languages a value names, one or several: 'en; es' -> ['en', 'es']."""
    return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]


def language_iri(value: str) -> URIRef:
    """The ISO 639 IRI (Library of Congress) of a language code or name: 'en' -> iso639-1/en"""
    code = language_code(value)
    return URIRef(f"http://id.loc.gov/vocabulary/iso639-{1 if len(code) == 2 else 2}/{code}")


def language_code(value: str) -> str:
    """The ISO 639-1 code (else 639-2) of a language code or name, in English or in a language
    records come in: 'en_US', 'eng', 'English', 'Inglés' -> 'en'. DoubtfulValue if none."""
    code = value.strip().replace("_", "-").split("-")[0].lower()
    language = (
        pycountry.languages.get(alpha_2=code)
        if len(code) == 2
        else pycountry.languages.get(alpha_3=code)
    )
    if language is None:
        try:
            language = pycountry.languages.lookup(value.strip())
        except LookupError:
            language = _languages_by_name().get(fold(value.strip()))
    if language is None:
        raise DoubtfulValue(f"'{value}' is not an ISO 639 language code or name")
    return getattr(language, "alpha_2", None) or language.alpha_3


# The gettext catalogues of the languages records come in besides English (as for the region
# labels, ontology/build_regions.py): dc.language.iso may name a language in them.
_NAME_CATALOGUES = ("es", "pt_BR", "pt", "fr")


@cache
def _languages_by_name() -> dict[str, pycountry.db.Data]:
    """The languages with a two-letter code by their folded names in _NAME_CATALOGUES
    ("espanol", "ingles", "portugues", "francais"...), from pycountry's translations."""
    found: dict[str, pycountry.db.Data] = {}
    for catalogue in _NAME_CATALOGUES:
        names = gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=[catalogue],
                                    fallback=True)
        for language in pycountry.languages:
            if hasattr(language, "alpha_2"):
                found.setdefault(fold(names.gettext(language.name)), language)
    return found


def tidy(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lower-case ASCII with accents removed: the comparison form of names and labels."""
    if text.isascii():  # most text: nothing to decompose, and casefold is lower there
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def slug(text: str) -> str:
    """A readable, stable URI key: 'Rabellotti, Roberta' -> 'rabellotti-roberta'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def person_name(value: str) -> tuple[str, str | None, str]:
    """(family, given, display name) from 'Family, Given' (or a name without a comma)."""
    text = tidy(value)
    given: str | None
    family, _, given = (part.strip() for part in text.partition(","))
    family, given = _titled(family), _titled(given) if given else None
    display = f"{given} {family}" if given else family
    return family, given, display


def _titled(part: str) -> str:
    """All-capitals names as records sometimes shout them ('RABELLOTTI') in title case."""
    return part.title() if part.isupper() and len(part) > 1 else part


_JEL = re.compile(r"^\s*([A-Z](?:\d{1,2})?)\b\s*(?:[-\u2013:]\s*(.*))?$")


def jel_code(value: str) -> tuple[str, str | None]:
    """(code, label as recorded) from 'O31 - Innovation and Invention: ...' or 'O31'."""
    match = _JEL.match(value)
    if not match:
        raise InvalidValue(f"'{value}' is not a JEL code (expected e.g. 'O31 - Innovation ...')")
    return match.group(1), (match.group(2) or None)


def keywords(value: str) -> list[str]:
    """Keywords split on ';' (and ',' when there is no ';'), blanks dropped."""
    separator = ";" if ";" in value else ","
    return [tidy(part) for part in value.split(separator) if part.strip()]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(value: str) -> list[int]:
    """Positions of control characters (other than tab, newline, return) in a value."""
    return [match.start() for match in _CONTROL.finditer(value)]
