"""The dev and prod stacks, as the real program registers them, pass the pack with their config.

Every resource the program registers under mocks goes to every resource policy, and all of them
together to every stack policy, with ``policy/config/<stack>.json`` reconciled like the engine
does. Nothing here assumes today's resource list: kinds other engineers add are checked as they
land.
"""

from __future__ import annotations

import copy

import pytest
from pulumi_policy import EnforcementLevel

from testbed.harness import load_stack_file
from testbed.policy_engine import load_pack_config, run_pack
from testbed.policy_stacks import stack_resources

CHECKED_TODAY = {
    "kubernetes:storage.k8s.io/v1:StorageClass",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:core/v1:Secret",
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pack_reports_no_mandatory_violation_when_the_repo_stack_is_checked(stack: str) -> None:
    resources = stack_resources(stack)
    assert {resource.type for resource in resources} >= CHECKED_TODAY
    violations = run_pack(resources, stack, load_pack_config(stack))
    mandatory = [v.message for v in violations if v.level is EnforcementLevel.MANDATORY]
    assert mandatory == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_pack_reports_no_mandatory_violation_when_an_operators_stack_is_checked(env: str) -> None:
    """The operators' own stacks, with their environment's config (the runner picks it by
    ``environment``): pinned releases, no reconciler beside them."""
    resources = stack_resources(f"{env}-operators")
    assert {resource.type for resource in resources} >= {"kubernetes:helm.sh/v3:Release"}
    violations = run_pack(resources, env, load_pack_config(env))
    mandatory = [v.message for v in violations if v.level is EnforcementLevel.MANDATORY]
    assert mandatory == []


# The loopback stacks, with the config the runner picks for them: their environment's
# (``policy/config/local.json`` for both; the node stack is a ``local`` environment too).
@pytest.mark.parametrize("stack", ["local", "node"])
def test_pack_reports_no_mandatory_violation_when_a_loopback_stack_is_checked(stack: str) -> None:
    raw = load_stack_file(stack)
    resources = stack_resources(stack, raw)
    environment = str(raw["environment"])
    violations = run_pack(resources, environment, load_pack_config(environment))
    mandatory = [v.message for v in violations if v.level is EnforcementLevel.MANDATORY]
    assert mandatory == []


def test_pack_blocks_delete_disks_when_dev_declares_ephemeral_data_without_allow_listing() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["database"]["ephemeral"] = True
    resources = stack_resources("dev", raw)
    violations = run_pack(resources, "dev", load_pack_config("dev"))
    assert {v.policy for v in violations} == {"storage-class-retain", "cnpg-cluster-recoverable"}
    assert all(v.level is EnforcementLevel.MANDATORY for v in violations)


def test_pack_accepts_delete_disks_when_dev_allow_lists_its_ephemeral_class() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["database"]["ephemeral"] = True
    resources = stack_resources("dev", raw)
    config = load_pack_config("dev")
    for policy in ("storage-class-retain", "cnpg-cluster-recoverable"):
        config[policy]["ephemeralClasses"] = ["coder-premium-lrs-delete"]
    assert run_pack(resources, "dev", config) == []


def test_pack_blocks_the_operators_when_a_stack_with_the_reconciler_installs_them() -> None:
    """dev as it was before the operators scope: its resources and the operators' in one stack
    (config now refuses operators.install there; the pack is the second line)."""
    resources = [*stack_resources("dev"), *stack_resources("dev-operators")]
    violations = run_pack(resources, "dev", load_pack_config("dev"))
    assert {v.policy for v in violations} == {"reconciled-stack-without-operators"}
    assert len(violations) == 2  # the CNPG operator's release and the plugin's
    assert all(v.level is EnforcementLevel.MANDATORY for v in violations)
