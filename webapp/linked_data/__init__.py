"""Linked data: every IRI under {base}id/ dereferences (303 to its document under /doc/,
negotiated: HTML, Turtle, JSON-LD, N-Triples, RDF/XML). ``documents`` (the routes, its
blueprint), ``describe`` (what the store says of a thing), ``pages`` and ``markup`` (its HTML
page), ``labels`` and ``vocabulary`` (what pages show for the IRIs they link to).
"""
