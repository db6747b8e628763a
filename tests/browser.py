"""A real browser for the tests of what people see: Debian's ``chromium``, driven by Playwright
for Python (Playwright's own browser download is not used: the browser is Debian's).

- ``chromium`` (session fixture, imported by conftest): installs Debian's chromium when it is
  missing (apt-get, as root, non-interactive; the tests that need it are skipped, saying why,
  when that cannot be done), launches it headless once a session.
- ``discovery_site`` (session): the app on a real HTTP server over a store that
  ``policykg load`` filled with a generated corpus (bench/synthetic.py's records and the small
  corpus of test_search), enough for facets to mean something.
- ``browser_page``: a new page (its own context), which collects the console's errors and the
  page's uncaught errors; the test fails if any page it visited logged one.
- ``axe_violations(page)``: axe-core (npm, node_modules/axe-core) run in the page: the
  violations of impact serious or critical.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from policykg.graph.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "chromium"
EXECUTABLE = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--no-first-run"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SYNTHETIC_RECORDS = 400
TIMEOUT_MS = 15_000


def missing() -> str | None:
    """Why chromium cannot be had (None: it is installed, or was installed now)."""
    if EXECUTABLE.is_file():
        return None
    if not shutil.which("apt-get"):
        return f"{PACKAGE} is not installed and apt-get is not available to install it"
    if os.geteuid() != 0:
        return f"{PACKAGE} is not installed, and installing it with apt-get needs root"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", PACKAGE]):
        done = subprocess.run(command, env=environment, capture_output=True, text=True,
                              timeout=900, check=False)
        if done.returncode != 0:
            return f"installing {PACKAGE} failed: {' '.join(command)}: {done.stderr[-500:]}"
    return None if EXECUTABLE.is_file() else f"{PACKAGE} installed, but {EXECUTABLE} is missing"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's chromium, launched headless by Playwright (skips, saying why, without it)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(EXECUTABLE), args=FLAGS)
        yield browser
        browser.close()


def _synthetic() -> Any:
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "bench" / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synthetic", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def discovery_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app over a store of a few hundred generated records, on a real HTTP server."""
    from conftest import policykg, start_server
    from test_search import write_corpus

    home = tmp_path_factory.mktemp("discovery")
    settings = Settings(home=str(home), store=f"oxigraph:{home / 'store'}")
    corpus = home / "corpus"
    _synthetic().generate(SYNTHETIC_RECORDS, corpus, per_file=SYNTHETIC_RECORDS, seed=3,
                          invalid_rate=0.0)
    (corpus / "manifest.json").unlink()  # the generator's notes, not records
    write_corpus(corpus)
    done = policykg(settings, "load", "--quiet", str(corpus))
    assert done.returncode == 0, done.stdout + done.stderr
    server = start_server(settings)
    yield server
    server.stop()


@dataclass
class Visited:
    """What the pages of one test logged as errors."""

    errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A new page; every console error and uncaught error of what it visits fails the test."""
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    visited = Visited()
    page.on("console", lambda message: visited.errors.append(
        f"{page.url}: console {message.type}: {message.text}")
        if message.type == "error" else None)
    page.on("pageerror", lambda error: visited.errors.append(f"{page.url}: {error}"))
    yield page
    context.close()
    assert visited.errors == [], "pages logged errors"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds in the page as it is now."""
    if not AXE.is_file():
        pytest.skip(f"{AXE} is missing: run npm ci")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in found if v["impact"] in ("serious", "critical")]
