"""The ``policykg`` command line: ``group`` (the shared settings and plug-in commands),
``loading`` (load, harvest, remove), ``inspection`` (query, export, stats, rejected,
validate, compact) and ``rebase``. ``serve`` is the web app's (policykg.webapp.cli), plugged
in by name.
"""

from policykg.graph.cli import inspection, loading, rebase  # noqa: F401 - their commands join the group
from policykg.graph.cli.group import main

__all__ = ["main"]
