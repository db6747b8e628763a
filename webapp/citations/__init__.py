"""Citations: a publication's CSL-JSON item made from its RDF (``csl``), written as BibTeX, RIS
and CSL-JSON (``export``) or as a reference in a CSL style (``styles``), for the documents'
negotiation, the publication page and the search's export (``variants``).
"""
