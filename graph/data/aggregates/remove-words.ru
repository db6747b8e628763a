# Remove the word index of some publications from the default graph, where aggregates stamped
# with texts.LEGACY_WORDS keep it. #PUBLICATIONS is replaced by their IRIs, as N-Triples terms
# written by pyoxigraph; an update takes no substitutions.
PREFIX pkg: <https://w3id.org/policykg/ontology#>
DELETE { ?publication pkg:word ?word }
WHERE {
  VALUES ?publication { #PUBLICATIONS }
  ?publication pkg:word ?word
}
