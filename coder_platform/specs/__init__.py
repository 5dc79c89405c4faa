"""Pure builders for the manifests two places build: no Pulumi resources, no I/O.

Like cloudnative-pg's ``pkg/specs/`` (kept apart from its controllers), each function here takes
plain values and returns the plain dict a manifest holds, so a component that registers the
object and a tool that creates it through the API (the restore drill) build the same shape.
"""
