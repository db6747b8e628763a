"""Loading behaviour: idempotency, replacement, identity across formats, deletion, tallies,
values in RDF form, languages, aggregates; on the embedded store and on a remote one (each test
gets a store of its own holding only the vocabularies, as a first load leaves it:
``vocab_store``)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from load_runs import BASE, FIXTURES, SAMPLE_TEXT, page, query, run, titles, write

from policykg.graph.config import Settings
from policykg.graph.store import open_store

TITLE = "Mainstreaming the Cluster Approach in the Caribbean Region"
BACKENDS = ("oxigraph", "virtuoso")
PKG_ISSUED_YEAR = "https://w3id.org/policykg/ontology#issuedYear"


def every_quad(settings: Settings) -> list[str]:
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        return sorted(str(q) for q in store.quads())


def test_loading_the_same_input_twice_changes_nothing(vocab_store: Settings, tmp_path: Path):
    source = write(tmp_path, "a.txt", page())
    first = run(vocab_store, "load", str(source))
    store_before = every_quad(vocab_store)
    second = run(vocab_store, "load", str(source))
    assert "loaded 1" in first.output and "unchanged 1" in second.output
    assert every_quad(vocab_store) == store_before


def test_reloading_a_changed_record_replaces_its_graph_wholly(vocab_store: Settings,
                                                              tmp_path: Path):
    run(vocab_store, "load", str(write(tmp_path, "a.txt", page())))
    changed = page(**{"dc.subject.keywordsCaribbean;": "dc.subject.keywordsClusters;",
                      TITLE: "A New Title", "mainstreaming": "zanzibarising"})
    result = run(vocab_store, "load", str(write(tmp_path, "a.txt", changed)))
    assert "replaced 1" in result.output
    assert [t[:11] for t in titles(vocab_store)] == ["A New Title"]
    assert found(vocab_store, "zanzibarising") == {"IDB-LM-00577"}
    assert found(vocab_store, f'"{TITLE}"') == set()  # no stale text: the old title's phrase
    keywords = query(vocab_store,
                     "SELECT ?k { ?p <https://w3id.org/policykg/ontology#keyword> ?k }")
    assert BASE + "id/keyword/caribbean" not in {row["k"] for row in keywords}
    # the keyword no record names any more is gone with its graph
    assert not query(vocab_store, f"SELECT ?p {{ <{BASE}id/keyword/caribbean> ?p ?o }}")


def test_a_person_named_by_two_records_is_described_once(vocab_store: Settings,
                                                         tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "a.txt", page("IDB-LM-00001"))
    write(folder, "b.txt", page("IDB-LM-00002", **{"Rabellotti, Roberta": "RABELLOTTI,  Roberta"}))
    run(vocab_store, "load", str(folder))
    names = query(vocab_store, f"SELECT ?n {{ <{BASE}id/person/rabellotti-roberta> "
                               "<http://xmlns.com/foaf/0.1/name> ?n }")
    assert names == [{"n": "Roberta Rabellotti"}]


def test_a_corporate_author_is_an_organisation_the_vocabulary_s_when_it_has_it(
        vocab_store: Settings, tmp_path: Path):
    authors = ("dc.contributor.authorInter-American Development Bank\n"
               "dc.contributor.authorRabellotti, Roberta\n"
               "dc.contributor.authorCaribbean Development Bank\n")
    text = page(**{"dc.contributor.authorRabellotti, Roberta\ndc.contributor.authorConz, "
                   "Elisa\n": authors})
    result = run(vocab_store, "load", str(write(tmp_path, "a.txt", text)))
    assert "loaded 1" in result.output, result.output
    rows = query(vocab_store, f"""
        PREFIX foaf: <http://xmlns.com/foaf/0.1/>
        SELECT ?author ?type WHERE {{
          <{BASE}id/publication/IDB-LM-00577> <http://purl.org/dc/terms/creator> ?author .
          ?author a ?type . FILTER(?type IN (foaf:Person, foaf:Organization))
        }}""")
    assert {(row["author"][len(BASE):], row["type"].rsplit("/", 1)[-1]) for row in rows} == {
        ("id/org/idb", "Organization"),  # the vocabulary's
        ("id/org/caribbean-development-bank", "Organization"),
        ("id/person/rabellotti-roberta", "Person"),
    }
    assert query(vocab_store, f"SELECT ?name {{ <{BASE}id/org/caribbean-development-bank> "
                              "<http://www.w3.org/2000/01/rdf-schema#label> ?name }") == [
        {"name": "Caribbean Development Bank"}]
    order = query(vocab_store, f"""
        PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        SELECT ?author WHERE {{ <{BASE}id/publication/IDB-LM-00577>
          <http://purl.org/ontology/bibo/authorList>/rdf:rest*/rdf:first ?author }}""")
    assert sorted(row["author"][len(BASE):] for row in order) == [  # in the author list
        "id/org/caribbean-development-bank", "id/org/idb", "id/person/rabellotti-roberta"]


QDC_TEXT = (FIXTURES / "qdc-IDB-LM-00577.xml").read_text("utf-8")
DOI = "http://dx.doi.org/10.18235/0004771"
HANDLE = "https://hdl.handle.net/11319/577"
OAI_ID = "oai:localhost:123456789/577"


def publications(settings: Settings) -> list[str]:
    """The publications of the store, by their IRI's path."""
    return sorted(row["p"][len(BASE):] for row in query(
        settings, "SELECT ?p { ?p a <https://w3id.org/policykg/ontology#Publication> }"))


@pytest.mark.parametrize("first, then, iri", [
    ("page", "qdc", "id/publication/IDB-LM-00577"),  # qdc drops the publication number
    ("qdc", "page", "id/publication/doi-10.18235_0004771"),  # the IRI first minted stays
])
def test_a_record_read_in_another_format_updates_the_publication_its_doi_names(
        first: str, then: str, iri: str, vocab_store: Settings, tmp_path: Path):
    texts = {"page": ("a.txt", SAMPLE_TEXT), "qdc": ("a.xml", QDC_TEXT)}
    run(vocab_store, "load", str(write(tmp_path, *texts[first])))
    result = run(vocab_store, "load", str(write(tmp_path, *texts[then])))
    assert "replaced 1" in result.output, result.output
    assert publications(vocab_store) == [iri]


@pytest.mark.parametrize("named_by, changes", [
    ("its handle", {DOI: HANDLE, OAI_ID: "oai:elsewhere:9"}),
    ("its OAI identifier", {DOI: "https://example.org/elsewhere"}),
])
def test_a_record_without_a_doi_updates_the_publication_its_handle_or_oai_identifier_names(
        named_by: str, changes: dict[str, str], vocab_store: Settings, tmp_path: Path):
    held = QDC_TEXT.replace(f"<dc:identifier>{DOI}</dc:identifier>",
                            f"<dc:identifier>{DOI}</dc:identifier>"
                            f"<dc:identifier>{HANDLE}</dc:identifier>")
    run(vocab_store, "load", str(write(tmp_path, "held.xml", held)))
    again = held.replace(f"<dc:identifier>{HANDLE}</dc:identifier>", "")
    for old, new in changes.items():
        again = again.replace(old, new)
    result = run(vocab_store, "load", str(write(tmp_path, "again.xml", again)))
    assert "replaced 1" in result.output, (named_by, result.output)
    assert publications(vocab_store) == ["id/publication/doi-10.18235_0004771"]


def test_two_publication_numbers_sharing_a_doi_are_two_publications(vocab_store: Settings,
                                                                    tmp_path: Path):
    run(vocab_store, "load", str(write(tmp_path, "a.txt", page("IDB-LM-00001"))))
    result = run(vocab_store, "load", str(write(tmp_path, "b.txt", page("IDB-LM-00002"))))
    assert "loaded 1" in result.output, result.output
    assert publications(vocab_store) == ["id/publication/IDB-LM-00001",
                                         "id/publication/IDB-LM-00002"]


def test_two_formats_of_one_publication_in_one_load_are_one_publication(
        vocab_store: Settings, tmp_path: Path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder, "a.txt", SAMPLE_TEXT)
    write(folder, "b.xml", QDC_TEXT)
    run(vocab_store, "load", str(folder))
    assert publications(vocab_store) == ["id/publication/IDB-LM-00577"]


def test_a_keyword_keeps_a_label_in_each_language_records_give_it(vocab_store: Settings,
                                                                  tmp_path: Path):
    keywords = "Caribbean;regional ecosystem;national ecosystem;cluster;innovation"
    for number, (language, keyword) in enumerate([("es", "Economía"), ("pt", "Economia"),
                                                  ("es", "economía")]):
        text = page(f"IDB-LM-0000{number}", **{keywords: keyword, "0004771": f"000{number}",
                                               "dc.language.isoen": f"dc.language.iso{language}"})
        result = run(vocab_store, "load", str(write(tmp_path, f"{number}.txt", text)))
        assert "loaded 1" in result.output, result.output
    rows = query(vocab_store, f"SELECT ?label {{ <{BASE}id/keyword/economia> "
                              "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label }")
    assert sorted(row["label"] for row in rows) == ["Economia", "Economía"]  # one a language
    languages = query(vocab_store, f"SELECT (LANG(?label) AS ?l) {{ <{BASE}id/keyword/economia> "
                                   "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
    assert sorted(row["l"] for row in languages) == ["es", "pt"]  # with their entailments


def test_removing_a_publication_removes_its_graphs(vocab_store: Settings, tmp_path: Path):
    run(vocab_store, "load", str(write(tmp_path, "a.txt", page())))
    result = run(vocab_store, "remove", "IDB-LM-00577")
    assert result.exit_code == 0
    assert titles(vocab_store) == []
    assert not query(vocab_store, f"SELECT ?p {{ <{BASE}id/person/conz-elisa> ?p ?o }}")


def coauthor_counts(settings: Settings) -> list[str]:
    """The co-author tally of Conz and Rabellotti, as the named queries read it."""
    person = f"{BASE}id/person/"
    rows = query(settings, f"""PREFIX pkg: <https://w3id.org/policykg/ontology#>
        SELECT ?count {{ ?tally a pkg:CoauthorTally ; pkg:publicationCount ?count ;
            pkg:tallyPerson <{person}conz-elisa>, <{person}rabellotti-roberta> }}""")
    return [row["count"] for row in rows]


def test_every_load_or_removal_that_changes_records_recounts_the_tallies(
        vocab_store: Settings, tmp_path: Path):
    run(vocab_store, "load", str(write(tmp_path, "a.txt", page("IDB-LM-00001"))))
    assert coauthor_counts(vocab_store) == ["1"]
    run(vocab_store, "load", str(write(tmp_path, "b.txt", page("IDB-LM-00002"))))
    assert coauthor_counts(vocab_store) == ["2"]
    changed = page("IDB-LM-00002", **{"Conz, Elisa": "Other, Author"})
    assert "replaced 1" in run(vocab_store, "load", str(write(tmp_path, "b.txt", changed))).output
    assert coauthor_counts(vocab_store) == ["1"]
    run(vocab_store, "load", str(write(tmp_path, "c.txt", page("IDB-LM-00003"))))
    assert run(vocab_store, "remove", "IDB-LM-00003").exit_code == 0
    assert coauthor_counts(vocab_store) == ["1"]


def test_tallies_left_out_of_date_by_a_load_cut_short_are_recounted_by_the_next(
        vocab_store: Settings, tmp_path: Path):
    """The mark a load writes before its first change stays when it is killed; running it
    again finds every record unchanged, and recounts the tallies all the same."""
    from policykg.graph import aggregates
    from policykg.graph.rdf.uris import Uris

    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "a.txt", page("IDB-LM-00001"))
    write(folder, "b.txt", page("IDB-LM-00002"))
    run(vocab_store, "load", str(folder))
    with open_store(vocab_store.store_location, settings=vocab_store) as store:
        aggregates.mark_pending(store, Uris(BASE))  # as a killed load leaves it: the
        store.replace([f"{BASE}graph/aggregates/coauthors"], [])  # counts not yet redone
    assert "unchanged 2" in run(vocab_store, "load", str(folder)).output
    assert coauthor_counts(vocab_store) == ["2"]
    with open_store(vocab_store.store_location, settings=vocab_store) as store:
        assert not aggregates.tallies_pending(store, Uris(BASE))


SICI_DOI = "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0"


def test_values_dspace_writes_that_rdf_cannot_hold_as_they_are_load_in_rdf_form(
        vocab_store: Settings, tmp_path: Path):
    """DSpace's own language qualifier "en_US" is no language tag, and a DOI may hold "<"
    and ">", which an IRI may not: neither may reject the record, nor stop the load."""
    folder = tmp_path / "in"
    folder.mkdir()
    dim = (FIXTURES / "oai-dim-IDB-LM-00577.xml").read_text("utf-8")
    write(folder, "dim.xml", dim.replace('lang="en"', 'lang="en_US"')
          .replace("10.18235/0004771", escape(SICI_DOI)))
    write(folder, "good.txt", page("IDB-LM-00001"))
    result = run(vocab_store, "load", str(folder))
    assert result.exit_code == 0, result.output
    assert "rejected 0" in result.output
    sample = "<http://localhost:8000/id/publication/IDB-LM-00577>"
    [row] = query(vocab_store, f"""SELECT ?doi ?resolver WHERE {{ {sample}
        <http://purl.org/ontology/bibo/doi> ?doi ;
        <http://www.w3.org/2002/07/owl#sameAs> ?resolver }}""")
    assert row["doi"] == SICI_DOI.lower()
    assert row["resolver"] == ("https://doi.org/10.1002/(sici)1097-4571(199806)49:8"
                               "%3C693::aid-asi4%3E3.0.co;2-0")
    languages = query(vocab_store, f"""SELECT (LANG(?title) AS ?language) WHERE {{ {sample}
        <http://purl.org/dc/terms/title> ?title }}""")
    assert [row["language"].lower() for row in languages] == ["en-us"]


def load_with_languages(settings: Settings, tmp_path: Path, *languages: str):
    """Load copies of the sample page numbered IDB-LM-00001, -00002... each with one of
    ``languages`` as its dc.language.iso; the CLI's result."""
    folder = tmp_path / "in"
    folder.mkdir()
    field = "dc.language.iso"
    for number, language in enumerate(languages, start=1):
        write(folder, f"{number}.txt",
              page(f"IDB-LM-{number:05d}", **{f"{field}en": f"{field}{language}"}))
    return run(settings, "load", str(folder))


def test_a_language_value_that_names_no_language_is_kept_with_a_warning(
        vocab_store: Settings, tmp_path: Path):
    """DSpace's submission form offers "(Other)" and "N/A" for dc.language.iso: a record
    carrying them is whole, so it loads, its value kept as written; "en; es" is two."""
    result = load_with_languages(vocab_store, tmp_path, "other", "en; es")
    assert result.exit_code == 0, result.output
    assert "loaded 2" in result.output and "warnings 1" in result.output
    assert "dc.language.iso" in result.stderr and "'other'" in result.stderr
    rows = query(vocab_store, """SELECT ?p ?language ?kept WHERE {
        ?p a <https://w3id.org/policykg/ontology#Publication>
        OPTIONAL { ?p <http://purl.org/dc/terms/language> ?language }
        OPTIONAL { ?p <https://w3id.org/policykg/dspace-field/dc.language.iso> ?kept } }""")
    found = {(row["p"].rsplit("/", 1)[1], row.get("language", ""), row.get("kept", ""))
             for row in rows}
    assert found == {("IDB-LM-00001", "", "other"),
                     ("IDB-LM-00002", "http://id.loc.gov/vocabulary/iso639-1/en", ""),
                     ("IDB-LM-00002", "http://id.loc.gov/vocabulary/iso639-1/es", "")}


def test_a_record_language_that_is_no_language_tag_leaves_its_texts_untagged(
        vocab_store: Settings, tmp_path: Path):
    """The record's language tags its texts that carry none of their own: "es_AR" tags
    them "es", and so does the name "Español"; a value that is neither ("ñu", letters but
    not ASCII) tags nothing, and its texts still load."""
    result = load_with_languages(vocab_store, tmp_path, "es_AR", "ñu", "Español")
    assert "loaded 3" in result.output, result.output
    rows = query(vocab_store, """SELECT ?p (LANG(?title) AS ?tag) ?language WHERE {
        ?p a <https://w3id.org/policykg/ontology#Publication> ;
           <http://purl.org/dc/terms/title> ?title .
        OPTIONAL { ?p <http://purl.org/dc/terms/language> ?language } }""")
    assert {(row["p"].rsplit("/", 1)[1], row["tag"], row.get("language", "")[-2:])
            for row in rows} == {("IDB-LM-00001", "es", "es"), ("IDB-LM-00002", "", ""),
                                 ("IDB-LM-00003", "es", "es")}


def aggregate_quads(settings: Settings, key: str = "IDB-LM-00577") -> set[tuple[str, str]]:
    """A publication's aggregates: its aggregate graph."""
    graph = f"{BASE}graph/aggregates/publication/{key}"
    rows = query(settings, f"SELECT ?p ?o {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return {(row["p"], row["o"]) for row in rows}


def found(settings: Settings, text: str) -> set[str]:
    """The keys of the publications a search finds."""
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        return {hit.iri.rsplit("/", 1)[-1] for hit in store.text_index().matches(text, 100)}


def recomputed_aggregates(settings: Settings, key: str = "IDB-LM-00577") -> set[tuple[str, str]]:
    """A publication's aggregates as a refresh computes them from its record graph now."""
    from policykg.graph import aggregates
    from policykg.graph.rdf.uris import Uris

    with open_store(settings.store_location, settings=settings) as store:
        record = f"{BASE}graph/publication/{key}"
        aggregates.update_publications(store, Uris(BASE), store.graph_hashes(record))
    return aggregate_quads(settings, key)


def test_a_load_writes_each_publication_s_aggregates_as_a_refresh_computes_them(
        vocab_store: Settings, tmp_path: Path):
    run(vocab_store, "load", str(write(tmp_path, "a.txt", page())))
    written = aggregate_quads(vocab_store)
    assert (PKG_ISSUED_YEAR, "2023") in written and found(vocab_store, "caribbean")
    assert recomputed_aggregates(vocab_store) == written


def test_a_changed_record_s_aggregates_are_rewritten_not_added_to(vocab_store: Settings,
                                                                  tmp_path: Path):
    run(vocab_store, "load", str(write(tmp_path, "a.txt", page())))
    changed = page(**{TITLE: "Tourism Now", "2023-03-08": "2019-01-01"})
    assert "replaced 1" in run(vocab_store, "load", str(write(tmp_path, "a.txt", changed))).output
    written = aggregate_quads(vocab_store)
    assert found(vocab_store, "tourism") == {"IDB-LM-00577"}
    assert {o for p, o in written if p == PKG_ISSUED_YEAR} == {"2019"}
    assert recomputed_aggregates(vocab_store) == written
