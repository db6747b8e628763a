"""The web app (Flask): ``app`` builds it, one blueprint per area: ``sparql`` (the protocol),
``linked_data`` (/id/ and /doc/), ``api`` (the named queries) and ``site`` (home, VoID, dump,
health); ``serve`` and ``cli`` run it on gunicorn. Uses ``policykg.graph``; never the reverse.
"""
