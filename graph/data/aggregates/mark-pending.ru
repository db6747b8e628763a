# Say that records may have changed since the tallies were counted (aggregates.PENDING), run
# with the store's base IRI as base: after each update of the web app's update endpoint,
# which may change records. The next load or refresh then recounts the tallies and rebuilds the pair
# counts file from the records, as after a load cut short.
PREFIX pkg: <https://w3id.org/policykg/ontology#>
INSERT DATA {
  GRAPH <graph/aggregates/pending> { <graph/aggregates/pending> pkg:aggregateStamp "records changed" }
}
