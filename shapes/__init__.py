"""The SHACL shapes every record is validated against (policykg-shapes.ttl)."""
