"""The sample page, changed into other records, and the command line run on a test's store,
shared by the loading tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import store_environment

from policykg.graph.cli import main
from policykg.graph.config import Settings
from policykg.graph.store import open_store

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_TEXT = (FIXTURES / "dspace-page-IDB-LM-00577.txt").read_text("utf-8")
BASE = "http://localhost:8000/"


def page(number: str = "IDB-LM-00577", **changes: str) -> str:
    """The sample page with another publication number and some values changed."""
    text = SAMPLE_TEXT.replace("IDB-LM-00577", number)
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def cli(settings: Settings) -> list[str]:
    """The command line's options for the settings' home and store."""
    return ["--home", settings.home, "--store", settings.store_location]


def run(settings: Settings, *args: str, catch: bool = False):
    return CliRunner().invoke(main, [*cli(settings), *args], catch_exceptions=catch,
                              env=store_environment(settings))


def query(settings: Settings, sparql: str) -> list[dict[str, str]]:
    with open_store(settings.store_location, read_only=True, settings=settings) as store:
        result = store.query(sparql)
        names = [v.value for v in result.variables]
        return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def titles(settings: Settings) -> list[str]:
    return sorted(row["t"] for row in query(
        settings, "SELECT ?t { ?p a <https://w3id.org/policykg/ontology#Publication> ; "
        "<http://purl.org/dc/terms/title> ?t }"))


def publication_graphs(settings: Settings) -> list[dict[str, str]]:
    return query(settings, """SELECT ?g (COUNT(*) AS ?n) (SAMPLE(?h) AS ?hash) WHERE {
        GRAPH ?g { ?s ?p ?o OPTIONAL { ?g <https://w3id.org/policykg/ontology#contentHash> ?h } }
        FILTER(STRSTARTS(STR(?g), "http://localhost:8000/graph/publication/")) } GROUP BY ?g""")
