"""CSL-JSON items written as BibTeX (bibtexparser), RIS (rispy) and CSL-JSON itself. Which
BibTeX and RIS type and field each CSL type and variable becomes is data (citations.toml).

    bibtex([item])      # '@techreport{IDB-LM-00577,\\n\\ttitle = {Mainstreaming ...'
    ris([item])         # 'TY  - RPRT\\nTI  - Mainstreaming ...'
    csl_json([item])    # '[{"id": "IDB-LM-00577", "type": "report", ...}]'
"""

from __future__ import annotations

import json
from typing import Any

import bibtexparser
import rispy
from bibtexparser import middlewares
from bibtexparser.model import Entry, Field

from policykg.webapp.citations.csl import CSLItem, settings

# LaTeX for the text fields; a "$" in a title is a dollar, not mathematics
_LATEX = middlewares.LatexEncodingMiddleware(keep_math=False, enclose_urls=False)


def csl_json(items: list[CSLItem]) -> str:
    """The items as a CSL-JSON array."""
    return json.dumps(items, ensure_ascii=False, indent=1) + "\n"


def bibtex(items: list[CSLItem]) -> str:
    """The items as BibTeX entries, their text LaTeX-encoded."""
    library = bibtexparser.Library()
    for item in items:
        library.add(_entry(item))
    return bibtexparser.write_string(library, prepend_middleware=[
        middlewares.MergeCoAuthors(allow_inplace_modification=True)])


def _entry(item: CSLItem) -> Entry:
    config = settings()["bibtex"]
    entry_type = config["types"].get(item["type"], config["default-type"])
    names = config["fields"] | ({"publisher": "institution"}
                                if entry_type in config["institution-types"] else {})
    text = {name: str(item[variable]) for variable, name in names.items() if variable in item}
    authors = [_bibtex_name(name) for name in item.get("author", [])]
    encoded = _latex(text | {f"author {i}": name for i, (name, _) in enumerate(authors)})
    fields = [Field("author", ["{" + encoded[f"author {i}"] + "}" if corporate
                               else encoded[f"author {i}"]
                               for i, (_, corporate) in enumerate(authors)])] if authors else []
    # (a corporate author in braces: one name, not family and given names)
    fields += [Field(name, encoded[name]) for name in text]
    parts = item.get("issued", {}).get("date-parts", [[]])[0]
    fields += [Field(name, str(value)) for name, value in zip(("year", "month"), parts,
                                                              strict=False)]
    fields += [Field(name, item[variable]) for variable, name in config["verbatim"].items()
               if variable in item]
    return Entry(entry_type, item["id"], fields)


def _bibtex_name(name: dict[str, str]) -> tuple[str, bool]:
    """("Family, Given", False), or (a literal name, True)."""
    if "literal" in name:
        return name["literal"], True
    return ", ".join(part for part in (name.get("family"), name.get("given")) if part), False


def _latex(values: dict[str, str]) -> dict[str, str]:
    """The values LaTeX-encoded by bibtexparser's middleware (through an entry of them)."""
    entry = Entry("misc", "values", [Field(name, value) for name, value in values.items()])
    encoded = _LATEX.transform(bibtexparser.Library([entry])).entries[0]
    return {name: encoded[name] for name in values}


class _RisWriter(rispy.RisWriter):
    """RIS as reference managers export it: each reference starts at its TY line (rispy's
    writer numbers them, "1.", before it)."""

    def set_header(self, count: int) -> str:
        return ""


def ris(items: list[CSLItem]) -> str:
    """The items as RIS references."""
    return rispy.dumps([_reference(item) for item in items], implementation=_RisWriter)


def _reference(item: CSLItem) -> dict[str, Any]:
    config = settings()["ris"]
    keys = rispy.TAG_KEY_MAPPING
    reference: dict[str, Any] = {
        "type_of_reference": config["types"].get(item["type"], config["default-type"]),
        "id": item["id"],
    }
    reference.update({keys[tag]: str(item[variable])
                      for variable, tag in config["fields"].items() if variable in item})
    if item.get("author"):
        reference[keys["AU"]] = [_ris_name(name) for name in item["author"]]
    parts = item.get("issued", {}).get("date-parts", [[]])[0]
    if parts:
        reference[keys["PY"]] = str(parts[0])
        reference[keys["DA"]] = "/".join(f"{part:02d}" for part in parts)
    if item.get("URL"):
        reference[keys["UR"]] = [item["URL"]]
    if item.get("keyword"):
        reference[keys["KW"]] = item["keyword"].split(", ")
    return reference


def _ris_name(name: dict[str, str]) -> str:
    if "literal" in name:
        return name["literal"]
    return ", ".join(part for part in (name.get("family"), name.get("given")) if part)
