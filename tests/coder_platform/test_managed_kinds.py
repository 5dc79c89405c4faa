"""The one list of kinds the stack writes agrees with what the stacks render, both ways.

The reconciler's Roles are built from ``MANAGED_KINDS``: a component that registers a kind the
list lacks would fail its in-cluster heal with Forbidden, and a listed kind nothing writes is a
right nobody needs. Rendered under mocks: dev, prod, local and dev in operator mode (the
Pulumi Kubernetes Operator's ``Stack``).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest

from coder_platform.managed_kinds import CHARTS, MANAGED_KINDS, PROGRAM
from components.reconciler.rbac import NAMESPACED_RULES
from testbed.harness import RecordingMocks, load_stack_file, run_program

RELEASE = "kubernetes:helm.sh/v3:Release"


def _operator_mode() -> dict[str, Any]:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["reconciler"]["mode"] = "operator"
    raw["reconciler"]["operator"] = {"repoUrl": "https://git.example/corp/coder-platform.git"}
    return raw


@cache
def _renders() -> tuple[RecordingMocks, ...]:
    return (
        *(run_program(load_stack_file(stack), stack=stack) for stack in ("dev", "prod", "local")),
        run_program(_operator_mode(), stack="dev"),
    )


def _group_kind(type_token: str) -> tuple[str, str]:
    """``kubernetes:<group>/<version>:<Kind>`` -> (group, Kind); the core group is ``""``."""
    _, api_version, kind = type_token.split(":")
    group = api_version.split("/")[0]
    return ("" if group == "core" else group, kind)


def _namespaced_kinds_registered() -> set[tuple[str, str]]:
    return {
        _group_kind(resource.type)
        for mocks in _renders()
        for resource in mocks.resources
        if resource.type.startswith("kubernetes:")
        and resource.type != RELEASE
        and (resource.inputs.get("metadata") or {}).get("namespace")
    }


def _charts_installed() -> set[str]:
    return {
        str(release.inputs["chart"]) for mocks in _renders() for release in mocks.of_type(RELEASE)
    }


def test_every_namespaced_kind_a_component_registers_is_a_managed_kind() -> None:
    managed = {(k.group, k.kind) for k in MANAGED_KINDS if PROGRAM in k.writers}
    assert _namespaced_kinds_registered() - managed == set()


def test_every_kind_the_program_is_said_to_write_is_registered_by_a_stack() -> None:
    said = {(k.group, k.kind) for k in MANAGED_KINDS if PROGRAM in k.writers}
    assert said - _namespaced_kinds_registered() == set()


@pytest.mark.parametrize("kind", MANAGED_KINDS, ids=lambda k: k.kind)
def test_every_managed_kind_has_a_writer_the_stacks_install(kind: object) -> None:
    writers = set(kind.writers)  # type: ignore[attr-defined]
    assert writers, "a kind nothing writes"
    assert writers <= {PROGRAM, *CHARTS}
    assert writers - {PROGRAM} <= _charts_installed()


def test_the_charts_the_list_names_are_the_charts_the_stacks_install() -> None:
    assert _charts_installed() == set(CHARTS)


def test_the_namespaced_rules_grant_each_managed_kind_its_verbs_and_nothing_more_to_write() -> None:
    writes = {"create", "update", "patch", "delete"}
    granted = {
        (group, resource, verb)
        for group, resources, verbs in NAMESPACED_RULES
        for resource in resources
        for verb in verbs
        if verb in writes
    }
    expected = {
        (k.group, k.resource, verb) for k in MANAGED_KINDS for verb in k.verbs if verb in writes
    }
    assert granted == expected
