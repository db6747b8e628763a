"""Validating mapped records with SHACL (shapes/), a batch at a time: ``shacl`` runs pyshacl
and turns its report into issues that name the DSpace field; ``shortcuts`` answers the
constraints that need no graph search without pyshacl. Imports ``graph.rdf``.
"""
