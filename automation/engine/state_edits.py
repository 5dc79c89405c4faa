"""Remove the seeded Coder subtree from a stack's state after a Coder reset.

After a Coder database reset the seeded resources in state (the first user, the API token, the
users, groups, templates and license the seed manages) describe objects that no longer exist,
and the stored token is dead, so even a refresh with the program run fails with 401s. The remedy
is one explicit state edit (export, filter, import); the next ``up`` re-creates the subtree
(contract C3).

What is removed, exactly:

1. the ``coder-platform:seeding:CoderSeed`` component(s) and their descendants (by ``parent``),
   except the Vault KV secret that publishes the token (``vault:kv/secretV2:SecretV2``): it is
   kept, because its path outlives Coder and the next ``up`` rewrites its value; its ancestors
   inside the seed are kept with it so its ``parent`` stays valid;
2. then, to a fixed point, any other resource whose ``parent`` or provider is removed, or whose
   ``dependencies`` are non-empty and all removed.

A kept seeded resource loses only its references to removed resources (recorded as pruned). Any
other resource that still references a removed one is refused, not edited: everything outside
the seed is carried over byte-for-byte (the very same objects are written back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from automation.errors import RefusedError
from coder_platform.contracts import VAULT_KV_SECRET_TYPE, VAULT_SECRET_V2_TYPE, ComponentType

SEED_COMPONENT = ComponentType.SEED
# The token's Vault publication, through the pulumi-vault provider or this project's HTTP one.
KEPT_SEED_TYPES = frozenset({VAULT_SECRET_V2_TYPE, VAULT_KV_SECRET_TYPE})

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class SeedRemoval:
    removed: tuple[str, ...]
    kept: tuple[str, ...] = ()
    pruned: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def resources_of(state: Mapping[str, Any]) -> list[Resource]:
    deployment = state.get("deployment") or {}
    return list(deployment.get("resources") or [])


def seeded_urns(state: Mapping[str, Any]) -> list[str]:
    """URNs a reset makes stale: the seed subtree minus what is kept.

    Empty when nothing was seeded, or once a heal removed them (so a reset is acted on once).
    """
    resources = resources_of(state)
    subtree = _seed_subtree(resources)
    kept = _kept(resources, subtree)
    return [r["urn"] for r in resources if r["urn"] in subtree and r["urn"] not in kept]


def seed_roots(state: Mapping[str, Any]) -> list[str]:
    """The ``CoderSeed`` components in state: excluding them with their dependents leaves every
    resource that reads or writes Coder out of an update (reconcile's pass without the seed)."""
    return [r["urn"] for r in resources_of(state) if r.get("type") == SEED_COMPONENT]


def plan_seed_removal(state: Mapping[str, Any]) -> SeedRemoval:
    resources = resources_of(state)
    subtree = _seed_subtree(resources)
    kept = _kept(resources, subtree)
    removed = subtree - kept
    changed = True
    while changed:
        changed = False
        for resource in resources:
            urn = resource["urn"]
            if urn in removed or urn in kept:
                continue
            dependencies = set(resource.get("dependencies") or ())
            if (
                resource.get("parent") in removed
                or _provider_urn(resource) in removed
                or (dependencies and dependencies <= removed)
            ):
                removed.add(urn)
                changed = True
    pruned: dict[str, tuple[str, ...]] = {}
    for resource in resources:
        urn = resource["urn"]
        dangling = _references(resource) & removed
        if urn in removed or not dangling:
            continue
        if urn in kept and _provider_urn(resource) not in removed:
            pruned[urn] = tuple(sorted(dangling))
            continue
        raise RefusedError(
            f"reset heal refused: {urn} references seeded resources "
            f"({', '.join(sorted(dangling))}) and others, so removing the seed would break it",
            "Move it under the CoderSeed component or make it depend on the seed only, or "
            "remove it by hand with `pulumi state delete`; then rerun reconcile",
        )
    order = [r["urn"] for r in resources]
    return SeedRemoval(
        removed=tuple(u for u in order if u in removed),
        kept=tuple(u for u in order if u in kept),
        pruned=pruned,
    )


def apply_seed_removal(state: Mapping[str, Any], removal: SeedRemoval) -> dict[str, Any]:
    """The state without the removed resources; untouched resources are the same objects."""
    removed = set(removal.removed)
    resources: list[Resource] = []
    for resource in resources_of(state):
        urn = resource["urn"]
        if urn in removed:
            continue
        resources.append(_prune(resource, removed) if urn in removal.pruned else resource)
    deployment = dict(state.get("deployment") or {})
    deployment["resources"] = resources
    return {**state, "deployment": deployment}


def _kept(resources: list[Resource], subtree: set[str]) -> set[str]:
    """Kept seed types, plus their ancestors inside the seed (so each ``parent`` stays valid)."""
    parents = {r["urn"]: r.get("parent") for r in resources}
    kept: set[str] = set()
    for resource in resources:
        if resource["urn"] in subtree and resource.get("type") in KEPT_SEED_TYPES:
            urn: str | None = resource["urn"]
            while urn is not None and urn in subtree and urn not in kept:
                kept.add(urn)
                urn = parents.get(urn)
    return kept


def _seed_subtree(resources: Iterable[Resource]) -> set[str]:
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    for resource in resources:
        if resource.get("parent"):
            children.setdefault(resource["parent"], []).append(resource["urn"])
        if resource.get("type") == SEED_COMPONENT:
            roots.append(resource["urn"])
    subtree: set[str] = set()
    pending = list(roots)
    while pending:
        urn = pending.pop()
        if urn not in subtree:
            subtree.add(urn)
            pending.extend(children.get(urn, ()))
    return subtree


def _provider_urn(resource: Resource) -> str | None:
    reference = resource.get("provider")
    return str(reference).rsplit("::", 1)[0] if reference else None


def _references(resource: Resource) -> set[str]:
    refs = set(resource.get("dependencies") or ())
    for urns in (resource.get("propertyDependencies") or {}).values():
        refs.update(urns or ())
    for key in ("parent", "deletedWith"):
        if resource.get(key):
            refs.add(resource[key])
    provider = _provider_urn(resource)
    if provider:
        refs.add(provider)
    return refs


def _prune(resource: Resource, removed: set[str]) -> dict[str, Any]:
    pruned = dict(resource)
    if "dependencies" in pruned:
        pruned["dependencies"] = [u for u in pruned["dependencies"] or () if u not in removed]
    if "propertyDependencies" in pruned:
        pruned["propertyDependencies"] = {
            key: [u for u in urns or () if u not in removed]
            for key, urns in (pruned["propertyDependencies"] or {}).items()
        }
    if pruned.get("deletedWith") in removed:
        del pruned["deletedWith"]
    return pruned
