"""``python -m policykg.graph.cli``: the ``policykg`` command."""

from policykg.graph.cli import main

main()
