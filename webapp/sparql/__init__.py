"""The SPARQL 1.1 Protocol at /sparql and /sparql/update: ``protocol`` (the routes),
``requests`` (reading a request, negotiating its format), ``safety`` (no call out),
``description`` (service description, query page), ``executor`` and ``evaluation`` (queries in
processes that can be killed on time-out).
"""

from policykg.webapp.sparql.executor import close_app_executor as close
from policykg.webapp.sparql.protocol import blueprint

__all__ = ["blueprint", "close"]
