"""Aggregates computed at load time, so that whole-graph questions (roll-ups, counts per year,
co-authors) become index lookups: per publication (``publication``), tallies (``tallies``), the
hierarchy they roll up along (``hierarchy``), where texts are searched (``texts``) and the pair
counts file beside an embedded store (``pair_counts``); ``index.AggregateIndex`` is what loads,
removals and updates call. Imports ``graph.store``, ``graph.rdf`` and ``graph.mapping``.
"""

from policykg.graph.aggregates.hierarchy import ConceptHierarchy
from policykg.graph.aggregates.index import (
    AggregateIndex,
    RefreshSummary,
    counts_to_tell,
    mark_pending,
    refresh,
    tallies_pending,
    up_to_date,
)
from policykg.graph.aggregates.pair_counts import pair_minimum
from policykg.graph.aggregates.publication import (
    dimension_members,
    issued_year,
    publication_nquads,
    update_publications,
)
from policykg.graph.aggregates.tallies import (
    MAX_PAIRS,
    PAIR_PROPERTIES,
    TALLIES,
    TALLY_KINDS,
    count_pairs,
    pair_node_quads,
    ranked_pairs,
    tally_quads,
)
from policykg.graph.aggregates.terms import (
    RECORD_KIND,
    aggregate_graph,
    publication_of,
    query_text,
    tally_graph,
)
from policykg.graph.aggregates.texts import Texts

__all__ = [
    "MAX_PAIRS", "PAIR_PROPERTIES", "RECORD_KIND", "TALLIES", "TALLY_KINDS", "AggregateIndex",
    "ConceptHierarchy", "RefreshSummary", "Texts", "aggregate_graph", "count_pairs",
    "counts_to_tell", "dimension_members", "issued_year", "mark_pending", "pair_minimum",
    "pair_node_quads", "publication_nquads", "publication_of", "query_text", "ranked_pairs",
    "refresh", "tallies_pending", "tally_graph", "tally_quads", "up_to_date",
    "update_publications",
]
