"""Front-end assets from npm, copied under static/ where the app serves them: YASGUI
(``@zazuko/yasgui``, /static/yasgui/) and the charts' library (``chart.js`` and its graph
plugin ``chartjs-chart-graph``, /static/charts/).

``npm ci`` at the repository root installs the packages pinned by package.json; then
``python -m policykg.webapp.assets`` copies their builds into static/. Nothing is ever loaded
from a CDN.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

STATIC = Path(__file__).parent / "static"
# The folder under static/ -> the files it takes from node_modules (their paths there).
ASSETS: dict[str, tuple[Path, ...]] = {
    "yasgui": (Path("@zazuko/yasgui/build/yasgui.min.js"),
               Path("@zazuko/yasgui/build/yasgui.min.css")),
    "charts": (Path("chart.js/dist/chart.umd.min.js"),
               Path("chartjs-chart-graph/build/index.umd.min.js")),
}
# The name each file takes in its folder, where its own name is too plain to tell.
RENAMED = {"index.umd.min.js": "chart-graph.umd.min.js"}


def asset_dir(folder: str, static: Path = STATIC) -> Path:
    """Where the app serves a folder of assets from (/static/{folder}/)."""
    return static / folder


def target_name(source: Path) -> str:
    """The name a file of a package takes under static/."""
    return RENAMED.get(source.name, source.name)


def installed(folder: str, static: Path = STATIC) -> bool:
    """Whether every file of a folder of assets is in place."""
    return all((asset_dir(folder, static) / target_name(path)).is_file()
               for path in ASSETS[folder])


def find_node_modules() -> Path | None:
    """node_modules of the current folder, else of the repository this package lives in."""
    first = next(iter(ASSETS.values()))[0]
    for root in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (root / "node_modules" / first).is_file():
            return root / "node_modules"
    return None


def install(node_modules: Path | None = None, static: Path = STATIC) -> list[Path]:
    """Copy every package's files from node_modules under static/; returns the folders."""
    node_modules = node_modules or find_node_modules()
    if node_modules is None:
        raise FileNotFoundError("node_modules with the front-end packages not found: "
                                "run `npm ci` first")
    folders = []
    for folder, sources in ASSETS.items():
        target = asset_dir(folder, static)
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            if not (node_modules / source).is_file():
                raise FileNotFoundError(f"node_modules/{source} not found: run `npm ci` first")
            shutil.copyfile(node_modules / source, target / target_name(source))
        folders.append(target)
    return folders


def main() -> int:
    """``python -m policykg.webapp.assets``: install the assets, say where."""
    try:
        folders = install()
    except OSError as error:
        print(f"policykg: {error}", file=sys.stderr)
        return 1
    for folder in folders:
        print(f"{folder.name} copied to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
