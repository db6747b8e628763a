"""The policykg ontology and the reference vocabularies it ships (Turtle), with the scripts that
build the generated ones (JEL, regions, the OWL RL closure) from ontology/sources/.
"""
