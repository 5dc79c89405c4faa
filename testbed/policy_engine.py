"""Run the pack's policies in-process, the way the analyzer does (there is no Pulumi CLI here).

Props take the engine's path: the JSON of a protobuf ``Struct`` (every number a float), the SDK's
``deserialize_properties`` (secrets unwrapped to plaintext, as policies really see them) and its
``unknown_checking_proxy`` (Mapping/Sequence proxies, not dicts). Config and enforcement levels
are reconciled like the engine's ``ReconcilePolicyPackConfig``: schema defaults, then the
``--policy-pack-config`` file (``all`` first, then per policy).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from coder_platform.contracts import PROJECT
from policy.pack import POLICIES

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "policy" / "config"


@dataclass(frozen=True)
class Resource:
    """One registered resource: its type token, logical name, inputs and parent URN."""

    type: str
    name: str
    props: Mapping[str, Any]
    parent: str | None = None
    secret_outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Violation:
    policy: str
    level: EnforcementLevel
    message: str
    urn: str


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    config: Mapping[str, Any]


def urn(stack: str, resource_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{resource_type}::{name}"


def struct_json(value: Any) -> Any:
    """What ``MessageToDict`` of a protobuf ``Struct`` gives back: numbers are floats."""
    if isinstance(value, Mapping):
        return {str(key): struct_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [struct_json(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def engine_props(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    props: Mapping[str, Any] = unknown_checking_proxy(deserialize_properties(struct_json(raw)))
    return props


def options(
    parent: str | None = None, secret_outputs: tuple[str, ...] = ()
) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        False, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(secret_outputs), parent
    )


def load_pack_config(env: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONFIG_DIR / f"{env}.json").read_text())
    return loaded


def schema_defaults(policy: Policy) -> dict[str, Any]:
    schema = policy.config_schema
    if schema is None:
        return {}
    return {key: spec["default"] for key, spec in schema.properties.items() if "default" in spec}


def reconcile(policy: Policy, pack_config: Mapping[str, Any] | None) -> PolicySettings:
    level = policy.enforcement_level or EnforcementLevel.MANDATORY
    config = schema_defaults(policy)
    given = dict(pack_config or {})
    if isinstance(given.get("all"), str):
        level = EnforcementLevel(given["all"])
    entry = given.get(policy.name)
    if isinstance(entry, str):
        level = EnforcementLevel(entry)
    elif isinstance(entry, Mapping):
        settings = dict(entry)
        if "enforcementLevel" in settings:
            level = EnforcementLevel(settings.pop("enforcementLevel"))
        config.update(settings)
    # The engine hands config through a protobuf Struct too: numbers arrive as floats.
    return PolicySettings(level, engine_props(config))


def drive(result: object) -> None:
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(result)
        finally:
            loop.close()


def run_policy(
    policy: Policy,
    resources: Iterable[Resource],
    stack: str = "test",
    pack_config: Mapping[str, Any] | None = None,
    converted: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[Violation]:
    """Every violation ``policy`` reports for these resources, whatever its level.

    ``converted`` holds each resource's props already in engine form (by ``id``): the analyzer
    deserializes a resource once per request and hands every policy the same view.
    """
    settings = reconcile(policy, pack_config)
    found: list[Violation] = []
    resources = list(resources)
    props_of = converted or {id(r): engine_props(r.props) for r in resources}

    def reporter(default_urn: str) -> Any:
        def report(message: str, urn_: str | None = None) -> None:
            found.append(Violation(policy.name, settings.level, message, urn_ or default_urn))

        return report

    if isinstance(policy, ResourceValidationPolicy):
        for resource in resources:
            resource_urn = urn(stack, resource.type, resource.name)
            args = ResourceValidationArgs(
                resource.type,
                props_of[id(resource)],
                resource_urn,
                resource.name,
                options(resource.parent, resource.secret_outputs),
                None,
                settings.config,
            )
            drive(policy.validate(args, reporter(resource_urn)))
    elif isinstance(policy, StackValidationPolicy):
        stack_resources = [
            PolicyResource(
                resource.type,
                props_of[id(resource)],
                urn(stack, resource.type, resource.name),
                resource.name,
                options(resource.parent, resource.secret_outputs),
                None,
                None,
                [],
                {},
            )
            for resource in resources
        ]
        args_stack = StackValidationArgs(stack_resources, settings.config)
        drive(policy.validate(args_stack, reporter("")))
    return found


def run_pack(
    resources: Iterable[Resource], stack: str, pack_config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """Every enabled policy of the pack over the same resources."""
    resources = list(resources)
    converted = {id(r): engine_props(r.props) for r in resources}
    found: list[Violation] = []
    for policy in POLICIES:
        if reconcile(policy, pack_config).level is EnforcementLevel.DISABLED:
            continue
        found += run_policy(policy, resources, stack, pack_config, converted)
    return found


def policy_named(name: str) -> Policy:
    matches = [policy for policy in POLICIES if policy.name == name]
    assert len(matches) == 1, f"expected one policy named {name}"
    return matches[0]
