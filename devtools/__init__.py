"""Run the real plugin on one machine: the Canvas plugin runner, a local FHIR server, a
receiver, and the part of the platform that executes HttpRequestEffects.

Used by the end-to-end tests and the demo; never uploaded to Canvas.
"""
