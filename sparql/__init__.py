"""The catalogue of named analyst queries: one .rq file a question, its metadata in a header
(see sparql/README.md), served at /api/queries."""
