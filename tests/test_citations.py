"""Citations, the way doi.org gives them: a publication's IRI negotiates BibTeX, RIS, CSL-JSON
and a formatted reference (text/x-bibliography, with a style and a locale), each read back
here by a real parser; its page carries a Cite box and the citation_* tags Zotero and Google
Scholar read; a search's page of publications exports in the same formats.

Served by the ``site`` fixture of test_linked_data (the sample and two more records, on a live
server whose address is the base of the IRIs), on the embedded store.
"""

from __future__ import annotations

import json
import re
from html import unescape

import bibtexparser
import rispy
from bibtexparser import middlewares
from conftest import fetch
from test_linked_data import SCRIPT_TITLE, TITLE, Site
from test_linked_data import site as site  # the shared session fixture

ID = "id/publication/IDB-LM-00577"
DOC = "doc/publication/IDB-LM-00577"
APA = ("Rabellotti, R., & Conz, E. (2023). Mainstreaming the Cluster Approach in the Caribbean "
       "Region: The CCPF Cluster Capacity Building Initiative (Learning Materials "
       "IDB-LM-00577). Inter-American Development Bank. https://doi.org/10.18235/0004771")


def negotiated(site: Site, path: str, accept: str, query: str = ""):
    """GET an identifier with an Accept header, following its 303 as a client does."""
    first = fetch(site.iri(path) + query, headers={"Accept": accept})
    if first.status != 303:
        return first
    return fetch(site.url.rstrip("/") + first.headers["Location"] + query,
                 headers={"Accept": accept})


def parse_bibtex(text: str) -> bibtexparser.Library:
    library = bibtexparser.parse_string(text, append_middleware=[
        middlewares.LatexDecodingMiddleware(), middlewares.SeparateCoAuthors()])
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library


def test_an_identifier_negotiates_bibtex_that_a_bibtex_parser_reads(site):
    reply = negotiated(site, ID, "application/x-bibtex")

    assert reply.status == 200 and reply.media == "application/x-bibtex"
    entry = parse_bibtex(reply.text).entries[0]
    fields = {name: field.value for name, field in entry.fields_dict.items()}
    assert (entry.entry_type, entry.key) == ("techreport", "IDB-LM-00577")
    assert fields["title"] == TITLE
    assert fields["author"] == ["Rabellotti, Roberta", "Conz, Elisa"]
    assert (fields["year"], fields["month"]) == ("2023", "3")
    assert fields["doi"] == "10.18235/0004771"
    assert fields["institution"] == "Inter-American Development Bank"
    assert fields["number"] == "IDB-LM-00577"
    assert fields["url"].endswith(".pdf")
    assert "Caribbean" in fields["keywords"].split(", ")


def test_bibtex_keeps_markup_and_latex_specials_as_text(site):
    reply = fetch(site.iri("doc/publication/IDB-LM-01000.bib"))

    entry = parse_bibtex(reply.text).entries[0]
    assert entry.fields_dict["title"].value == SCRIPT_TITLE
    assert "\\&" in reply.text  # "&" is LaTeX's column separator: written escaped


def test_an_identifier_negotiates_ris_that_an_ris_parser_reads(site):
    reply = negotiated(site, ID, "application/x-research-info-systems")

    assert reply.status == 200 and reply.media == "application/x-research-info-systems"
    [reference] = rispy.loads(reply.text)
    assert reference["type_of_reference"] == "RPRT"
    assert reference["title"] == TITLE
    assert reference["authors"] == ["Rabellotti, Roberta", "Conz, Elisa"]
    assert (reference["year"], reference["date"]) == ("2023", "2023/03/08")
    assert reference["doi"] == "10.18235/0004771"
    assert reference["publisher"] == "Inter-American Development Bank"
    assert reference["issn"] == "IDB-LM-00577"  # SN: a report's number
    assert reference["language"] == "en"


def test_an_identifier_negotiates_csl_json_mapped_from_its_rdf(site):
    reply = negotiated(site, ID, "application/vnd.citationstyles.csl+json")

    assert reply.status == 200 and reply.media == "application/vnd.citationstyles.csl+json"
    [item] = reply.json()
    assert item["id"] == "IDB-LM-00577" and item["type"] == "report"
    assert item["title"] == TITLE
    assert item["author"] == [{"family": "Rabellotti", "given": "Roberta"},
                              {"family": "Conz", "given": "Elisa"}]
    assert item["issued"] == {"date-parts": [[2023, 3, 8]]}
    assert (item["DOI"], item["number"]) == ("10.18235/0004771", "IDB-LM-00577")
    assert item["publisher"] == "Inter-American Development Bank"
    assert item["genre"] == "Learning Materials"
    assert item["language"] == "en" and item["number-of-pages"] == "64"
    assert item["abstract"].startswith("In the Caribbean region, clusters")
    assert item["URL"].startswith("https://publications.iadb.org/")
    assert "regional ecosystem" in item["keyword"].split(", ")


def test_authors_keep_the_order_of_the_record(site):
    reply = fetch(site.iri("doc/publication/IDB-LM-00999.csljson"))

    assert [a["family"] for a in reply.json()[0]["author"]] == ["Rabellotti", "Pietrobelli"]


def test_a_reference_is_apa_by_default(site):
    reply = negotiated(site, ID, "text/x-bibliography")

    assert reply.status == 200 and reply.media == "text/x-bibliography"
    assert reply.text.strip() == APA


def test_a_reference_takes_its_style_and_locale_from_the_media_type(site):
    reply = negotiated(site, ID, "text/x-bibliography; style=mla; locale=fr-FR")

    assert reply.text.startswith("Rabellotti, R., et E. Conz.")  # MLA, in French
    assert "8 mars 2023" in reply.text


def test_a_reference_takes_its_style_and_locale_from_the_query(site):
    reply = fetch(site.iri(DOC + ".txt"), params={"style": "chicago", "locale": "es"})

    assert reply.text.startswith("Rabellotti, R., y E. Conz. 2023.")  # Chicago, in Spanish


def test_any_style_of_the_csl_repository_is_known_by_its_name(site):
    reply = fetch(site.iri(DOC + ".txt"), params={"style": "ieee"})

    assert "R. Rabellotti and E. Conz" in reply.text


def test_an_unknown_style_or_locale_is_a_400_naming_it(site):
    style = fetch(site.iri(DOC + ".txt"), params={"style": "no-such-style"})
    locale = negotiated(site, ID, "text/x-bibliography; locale=xx-QQ")
    path = fetch(site.iri(DOC + ".txt"), params={"style": "../../etc/passwd"})

    assert style.status == 400 and "style: 'no-such-style'" in style.text
    assert locale.status == 400 and "locale: 'xx-QQ'" in locale.text
    assert path.status == 400 and "style:" in path.text


def test_things_other_than_publications_offer_no_citation(site):
    reply = negotiated(site, "id/person/rabellotti-roberta", "application/x-bibtex")

    assert reply.status == 406
    assert "application/x-bibtex" not in reply.text


def page(site: Site) -> str:
    return fetch(site.iri(DOC), headers={"Accept": "text/html"}).text


def metas(html: str) -> list[tuple[str, str]]:
    return [(name, unescape(content)) for name, content in
            re.findall(r'<meta name="(citation_[a-z_]+)" content="([^"]*)">', html)]


def test_the_page_carries_citation_tags_for_zotero_and_google_scholar(site):
    tags = metas(page(site))

    assert ("citation_title", TITLE) in tags
    assert [v for n, v in tags if n == "citation_author"] == ["Rabellotti, Roberta",
                                                              "Conz, Elisa"]
    assert ("citation_publication_date", "2023/03/08") in tags
    assert ("citation_doi", "10.18235/0004771") in tags
    assert ("citation_publisher", "Inter-American Development Bank") in tags
    assert ("citation_technical_report_number", "IDB-LM-00577") in tags
    assert ("citation_language", "en") in tags
    assert ("citation_abstract_html_url", site.iri(DOC)) in tags
    [pdf] = [v for n, v in tags if n == "citation_pdf_url"]
    assert pdf.startswith("https://publications.iadb.org/") and pdf.endswith(".pdf")


def test_a_page_without_a_pdf_has_no_pdf_tag(site):
    html = fetch(site.iri("doc/publication/IDB-LM-00999"), headers={"Accept": "text/html"}).text

    assert "citation_pdf_url" not in dict(metas(html))
    assert dict(metas(html))["citation_doi"] == "10.18235/0009999"


def test_the_cite_box_offers_the_formats_and_styles(site):
    html = page(site)
    box = html[html.index('<section class="cite"'):]
    box = box[:box.index("</section>")]

    links = dict(re.findall(r'<a href="([^"]+)" type="([^"]+)" download>', box))
    assert links == {f"/{DOC}.bib": "application/x-bibtex",
                     f"/{DOC}.ris": "application/x-research-info-systems",
                     f"/{DOC}.csljson": "application/vnd.citationstyles.csl+json"}
    styles = re.findall(r'<option value="([a-z]+)">', box)
    assert styles == ["apa", "chicago", "mla", "harvard", "ieee", "vancouver"]
    form = re.search(r'<form class="cite-style" method="get" action="([^"]+)"', box)
    assert form and form.group(1) == f"/{DOC}.txt"
    shown = fetch(site.url.rstrip("/") + form.group(1), params={"style": styles[0]})
    assert shown.text.strip() == APA


def test_every_download_of_the_cite_box_parses(site):
    bib = fetch(site.iri(DOC + ".bib"))
    ris = fetch(site.iri(DOC + ".ris"))
    csl = fetch(site.iri(DOC + ".csljson"))

    assert parse_bibtex(bib.text).entries[0].key == "IDB-LM-00577"
    assert rispy.loads(ris.text)[0]["id"] == "IDB-LM-00577"
    assert json.loads(csl.body)[0]["id"] == "IDB-LM-00577"


def test_a_search_exports_its_publications_as_bibtex(site):
    reply = fetch(site.iri("api/search"), params={"q": "cluster", "format": "bibtex"})

    assert reply.status == 200 and reply.media == "application/x-bibtex"
    keys = {entry.key for entry in parse_bibtex(reply.text).entries}
    assert keys == {"IDB-LM-00577", "IDB-LM-00999", "IDB-LM-01000"}


def test_a_search_exports_its_publications_as_ris_and_csl_json(site):
    ris = fetch(site.iri("api/search"), params={"q": "cluster", "format": "ris",
                                                "sort": "newest"})
    csl = fetch(site.iri("api/search"), params={"q": "cluster"},
                headers={"Accept": "application/vnd.citationstyles.csl+json"})

    assert [r["id"] for r in rispy.loads(ris.text)] == ["IDB-LM-00577", "IDB-LM-01000",
                                                         "IDB-LM-00999"]
    assert {item["id"] for item in csl.json()} == {"IDB-LM-00577", "IDB-LM-00999",
                                                   "IDB-LM-01000"}
    assert csl.media == "application/vnd.citationstyles.csl+json"


def test_the_openapi_document_lists_the_export_formats(site):
    document = fetch(site.iri("api/openapi.json")).json()
    operation = document["paths"]["/api/search"]["get"]

    [fmt] = [p for p in operation["parameters"] if p["name"] == "format"]
    assert fmt["schema"]["enum"] == ["json", "csv", "bibtex", "ris", "csljson"]
    assert {"application/x-bibtex", "application/x-research-info-systems",
            "application/vnd.citationstyles.csl+json"} <= set(
        operation["responses"]["200"]["content"])


def test_an_unknown_export_format_is_a_400_naming_it(site):
    reply = fetch(site.iri("api/search"), params={"q": "cluster", "format": "endnote"})

    assert reply.status == 400 and reply.json()["parameter"] == "format"
