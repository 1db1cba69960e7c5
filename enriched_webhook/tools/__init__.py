"""Operator and auditor tools behind the `enriched-webhook` command: keys, bundle, schema,
audit. They use cryptography and fhir.resources, so they never run inside Canvas."""
