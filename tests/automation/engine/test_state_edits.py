"""Reset heal state edit: exactly the seeded subtree goes, everything else is carried over.

Design note 5 and contract C3: after a Coder reset the seeded resources' credentials are dead, so
they leave the state in one explicit step; nothing outside the seed may change (C2).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from automation.engine.state_edits import apply_seed_removal, plan_seed_removal, seeded_urns
from automation.errors import RefusedError
from tests.automation import state_fixture as fx

VERSIONS = {"dev-workspace": "ver-dev-2", "gpu-workspace": "ver-gpu-2"}


def by_urn(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in state["deployment"]["resources"]}


def test_removal_takes_the_seed_and_what_depends_only_on_it_when_coder_was_reset() -> None:
    state = fx.seeded_state(VERSIONS)

    removal = plan_seed_removal(state)

    assert set(removal.removed) == {
        fx.FIRST_USER,
        fx.API_TOKEN,
        fx.TEMPLATE,
        fx.GPU_TEMPLATE,
        fx.CODER_USER,
        fx.TOKEN_MIRROR,
    }
    assert set(removal.kept) == {fx.SEED, fx.PUBLISHED_TOKEN}
    assert removal.pruned == {fx.PUBLISHED_TOKEN: (fx.API_TOKEN,)}


def test_everything_outside_the_seed_is_byte_for_byte_identical_when_the_seed_is_removed() -> None:
    state = fx.seeded_state(VERSIONS)
    before = copy.deepcopy(state)

    edited = apply_seed_removal(state, plan_seed_removal(state))

    after, original = by_urn(edited), by_urn(before)
    for resource in fx.platform_resources():
        assert json.dumps(after[resource["urn"]]) == json.dumps(original[resource["urn"]])
    assert [r["urn"] for r in edited["deployment"]["resources"]] == [
        *(r["urn"] for r in fx.platform_resources()),
        fx.SEED,
        fx.PUBLISHED_TOKEN,
    ]
    assert edited["deployment"]["manifest"] == before["deployment"]["manifest"]
    assert edited["deployment"]["secrets_providers"] == before["deployment"]["secrets_providers"]
    assert state == before, "the input state is not mutated"


def test_published_token_loses_only_dead_references_when_it_is_kept() -> None:
    state = fx.seeded_state(VERSIONS)

    kept = by_urn(apply_seed_removal(state, plan_seed_removal(state)))[fx.PUBLISHED_TOKEN]
    original = by_urn(state)[fx.PUBLISHED_TOKEN]

    assert kept["dependencies"] == []
    assert kept["propertyDependencies"] == {"dataJson": [], "mount": []}
    assert {k: v for k, v in kept.items() if k not in ("dependencies", "propertyDependencies")} == {
        k: v for k, v in original.items() if k not in ("dependencies", "propertyDependencies")
    }
    assert kept["parent"] == fx.SEED and kept["provider"] == fx.VAULT_PROVIDER_REF


def test_a_token_published_over_vaults_http_api_is_kept_like_the_plugins() -> None:
    state = fx.seeded_state(VERSIONS)
    for resource in state["deployment"]["resources"]:
        if resource["urn"] == fx.PUBLISHED_TOKEN:
            resource["type"] = "pulumi-python:dynamic/vault:VaultKvSecret"

    removal = plan_seed_removal(state)

    assert fx.PUBLISHED_TOKEN in removal.kept
    assert fx.PUBLISHED_TOKEN not in removal.removed


def test_no_reference_dangles_when_the_seed_is_removed() -> None:
    state = fx.seeded_state(VERSIONS)
    edited = apply_seed_removal(state, plan_seed_removal(state))
    urns = {r["urn"] for r in edited["deployment"]["resources"]}
    for resource in edited["deployment"]["resources"]:
        refs = set(resource.get("dependencies") or ())
        refs |= {u for us in (resource.get("propertyDependencies") or {}).values() for u in us}
        if resource.get("parent"):
            refs.add(resource["parent"])
        if resource.get("provider"):
            refs.add(resource["provider"].rsplit("::", 1)[0])
        assert refs <= urns, resource["urn"]


def test_nothing_is_removed_when_the_stack_was_never_seeded() -> None:
    state = fx.unseeded_state()
    assert seeded_urns(state) == []
    removal = plan_seed_removal(state)
    assert removal.removed == ()
    assert apply_seed_removal(state, removal) == state


def test_nothing_counts_as_seeded_when_a_heal_already_removed_it() -> None:
    state = fx.seeded_state(VERSIONS)
    assert fx.FIRST_USER in seeded_urns(state)
    edited = apply_seed_removal(state, plan_seed_removal(state))
    assert seeded_urns(edited) == []


def test_refused_when_an_outside_resource_depends_on_the_seed_and_on_other_resources() -> None:
    resources = [*fx.platform_resources(), *fx.seed_resources(VERSIONS)]
    mirror = fx.urn("kubernetes:core/v1:Secret", "coder-token-and-url")
    mixed: dict[str, Any] = {
        "urn": mirror,
        "custom": True,
        "id": "coder/coder-token-and-url",
        "type": "kubernetes:core/v1:Secret",
        "provider": fx.K8S_PROVIDER_REF,
        "dependencies": [fx.API_TOKEN, fx.CODER_RELEASE],
    }
    state = fx.deployment([*resources, mixed])

    with pytest.raises(RefusedError) as refused:
        plan_seed_removal(state)

    assert mirror in refused.value.what
    assert "pulumi state delete" in refused.value.action
