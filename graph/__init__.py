"""The back end: publication records in, a validated, inferred, aggregated graph in a store.

    readers -> mapping -> validation -> inference -> loading -> store (+ aggregates)
    harvest feeds loading from an OAI-PMH endpoint; cli is the ``policykg`` command.

Shared building blocks are in ``rdf`` (namespaces, terms, IRIs, query files) and ``config``
(the settings). Never imports ``policykg.webapp``: the web app uses this package, not the
other way round.
"""
