"""Loading records into the store, batch by batch: ``loader`` (the run: unchanged records
skipped, graphs written, aggregates told), ``identity`` (which publication a record updates),
``prepare`` (map, validate, infer a batch: pure), ``workers`` (preparing in processes),
``quarantine`` (rejected records kept with their reason), ``summary`` (what a load did) and
``maintenance`` (removing and re-validating). Imports every other back-end stage.
"""
