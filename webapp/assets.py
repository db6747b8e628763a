"""Front-end assets from npm: YASGUI (``@zazuko/yasgui``), copied into static/yasgui/.

``npm ci`` at the repository root installs the package pinned by package.json; then
``python -m policykg.webapp.assets`` copies its build where the app serves it, /static/yasgui/.
Nothing is ever loaded from a CDN.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

YASGUI_PACKAGE = Path("@zazuko") / "yasgui" / "build"
YASGUI_FILES = ("yasgui.min.js", "yasgui.min.css")
STATIC = Path(__file__).parent / "static"


def yasgui_dir(static: Path = STATIC) -> Path:
    """Where the app serves YASGUI from (/static/yasgui/)."""
    return static / "yasgui"


def yasgui_installed(static: Path = STATIC) -> bool:
    """Whether every YASGUI file is in place."""
    return all((yasgui_dir(static) / name).is_file() for name in YASGUI_FILES)


def find_node_modules() -> Path | None:
    """node_modules of the current folder, else of the repository this package lives in."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (root / "node_modules" / YASGUI_PACKAGE).is_dir():
            return root / "node_modules"
    return None


def install_yasgui(node_modules: Path | None = None, static: Path = STATIC) -> Path:
    """Copy the YASGUI build from node_modules into static/yasgui/; returns that folder."""
    node_modules = node_modules or find_node_modules()
    if node_modules is None:
        raise FileNotFoundError("node_modules/@zazuko/yasgui not found: run `npm ci` first")
    source = node_modules / YASGUI_PACKAGE
    target = yasgui_dir(static)
    target.mkdir(parents=True, exist_ok=True)
    for name in YASGUI_FILES:
        shutil.copyfile(source / name, target / name)
    return target


def main() -> int:
    """``python -m policykg.webapp.assets``: install the assets, say where."""
    try:
        target = install_yasgui()
    except OSError as error:
        print(f"policykg: {error}", file=sys.stderr)
        return 1
    print(f"YASGUI copied to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
