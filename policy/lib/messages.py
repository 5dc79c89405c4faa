"""Violation text: names the resource, what is wrong, the exact fix, and the contract clause.

Secrets reach policies as plaintext, so a message is built only from resource names, property
paths, key names and policy config, never from a property's value.
"""

from __future__ import annotations


def subject(resource_type: str, name: str) -> str:
    """``StorageClass "database-storage" (kubernetes:storage.k8s.io/v1:StorageClass)``."""
    kind = resource_type.rsplit(":", 1)[-1]
    return f'{kind} "{name}" ({resource_type})'


def violation(who: str, problem: str, fix: str, clauses: str) -> str:
    return f"{who}: {problem}. Fix: {fix}. [seeding contract {clauses}]"
