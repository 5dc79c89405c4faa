"""A value not known during preview defers the check to ``up``; it never passes or fails it.

The SDK turns ``UnknownValueError`` into an advisory "can't run policy during preview" notice and
runs the policy again with known values at ``up`` (an unknown value at preview
downgrades a policy to advisory); policies must let it through.
"""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from testbed.policy_engine import Resource, policy_named, run_policy

UNKNOWN_CLASS = [
    Resource(
        "kubernetes:postgresql.cnpg.io/v1:Cluster",
        "coder-db-cluster",
        {
            "metadata": {"name": "coder-db"},
            "spec": {"storage": {"storageClass": UNKNOWN_STRING_VALUE}},
        },
    )
]


def test_resource_policy_defers_when_the_checked_value_is_unknown() -> None:
    storage_class = Resource(
        "kubernetes:storage.k8s.io/v1:StorageClass",
        "database-storage",
        {"metadata": {"name": "x"}, "reclaimPolicy": UNKNOWN_STRING_VALUE},
    )
    with pytest.raises(UnknownValueError):
        run_policy(policy_named("storage-class-retain"), [storage_class])


def test_stack_policy_defers_when_the_storage_class_is_unknown() -> None:
    with pytest.raises(UnknownValueError):
        run_policy(policy_named("cnpg-cluster-recoverable"), UNKNOWN_CLASS)
