"""The SPARQL 1.1 Protocol at /sparql and /sparql/update: ``protocol`` (the routes, its
blueprint), ``requests`` (reading a request, negotiating its format), ``safety`` (no call out),
``description`` (service description, query page), ``executor`` and ``evaluation`` (queries in
processes that can be killed on time-out; a query process imports no more than it needs).
"""
