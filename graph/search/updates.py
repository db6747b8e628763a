"""The text index after a SPARQL Update: the publications of the record graphs it touched are
indexed again from the store (those whose record graph is gone are removed), and the index is
committed in step with it; an update that may have changed any graph, or a vocabulary, has the
whole index rebuilt (``graph.loading.updates`` says which).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from policykg.graph.aggregates.terms import publication_of
from policykg.graph.rdf.uris import Uris
from policykg.graph.search.indexing import in_step, rebuild_documents, write_token
from policykg.graph.search.rebuild import stored_documents
from policykg.graph.store import GraphStore


def sync_text_index(store: GraphStore, uris: Uris, records: Iterable[str] | None) -> int:
    """Index again the publications of some record graphs (None: every one); how many."""
    index = store.text_index()
    if not index.keeps_documents:
        return 0
    if records is None or not in_step(store, uris):
        count = rebuild_documents(store, uris, index)
    else:
        wanted = sorted(set(records))
        present = [g for g in wanted if store.has_graph(g)]
        gone = [publication_of(g) for g in wanted if g not in present]
        index.write(stored_documents(store, uris, present), gone)
        count = len(wanted)
    token = uuid.uuid4().hex
    index.commit(token)
    write_token(store, uris, token)
    index.close()
    return count
