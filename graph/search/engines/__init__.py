"""The text index engines: ``engine`` (what any text index does), ``tantivy_index`` (tantivy beside
the embedded store) and ``store_index`` (a remote store's own free-text index). They import the
rest of ``graph.search`` (documents, requests, query text) and ``graph.rdf``; a store, for types.
"""
