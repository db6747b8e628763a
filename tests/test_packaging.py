"""The wheel is one import package, policykg, carrying its Turtle, SHACL, TOML and .rq files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = out.glob("policykg-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_claims_no_generic_top_level_module(wheel_names: set[str]):
    top_level = {name.split("/")[0] for name in wheel_names if "dist-info" not in name}
    assert top_level == {"policykg"}


@pytest.mark.parametrize("folder,suffix", [
    ("ontology", ".ttl"), ("shapes", ".ttl"), ("sparql", ".rq"), ("graph/data", ".toml"),
    ("graph/data/queries", ".rq"), ("webapp/templates", ".html"),
    ("webapp/discovery/queries", ".rq"), ("webapp/static", ".js"),
])
def test_every_data_file_of_the_repository_ships_in_the_wheel(
        wheel_names: set[str], folder: str, suffix: str):
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob(f"*{suffix}")]
    assert files
    missing = [name for name in files if f"policykg/{name}" not in wheel_names]
    assert missing == []


def test_the_bundled_sample_ships_in_the_wheel(wheel_names: set[str]):
    assert "policykg/graph/data/samples/dspace-page-IDB-LM-00577.txt" in wheel_names
