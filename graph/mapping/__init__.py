"""Mapping a record to RDF: ``rules`` applies the declarative field -> RDF rules of a mapping
file (graph/data/mapping-idb.toml) to one record, ``kinds`` makes the triples of one value of
each kind a rule can name, ``lookups`` finds a vocabulary's resource by name, ``normalise``
turns DSpace's values (DOIs, dates, names, languages) into what the rules need. Imports
``graph.readers`` and ``graph.rdf``.
"""
