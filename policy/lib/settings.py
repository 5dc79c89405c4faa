"""Policy config: the values in ``--policy-pack-config``, else the schema's ``default``.

The engine already fills in schema defaults before it calls a policy; reading them here too keeps
a policy correct when it is called directly (tests, ``pulumi policy analyze``), with one source of
truth for every default: the policy's ``config_schema``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyConfigSchema

from .props import as_list, as_number


class PolicyConfigError(ValueError):
    """A config value of the wrong type; names the key, never echoes the value."""


def read(config: Mapping[str, Any], schema: PolicyConfigSchema, key: str) -> Any:
    if key in config and config[key] is not None:
        return config[key]
    return schema.properties[key]["default"]


def read_bool(config: Mapping[str, Any], schema: PolicyConfigSchema, key: str) -> bool:
    value = read(config, schema, key)
    if not isinstance(value, bool):
        raise PolicyConfigError(f"policy config {key!r} must be a boolean")
    return value


def read_text(config: Mapping[str, Any], schema: PolicyConfigSchema, key: str) -> str:
    value = read(config, schema, key)
    if not isinstance(value, str):
        raise PolicyConfigError(f"policy config {key!r} must be a string")
    return value


def read_number(config: Mapping[str, Any], schema: PolicyConfigSchema, key: str) -> float:
    value = as_number(read(config, schema, key))
    if value is None:
        raise PolicyConfigError(f"policy config {key!r} must be a number")
    return value


def read_texts(config: Mapping[str, Any], schema: PolicyConfigSchema, key: str) -> list[str]:
    items = as_list(read(config, schema, key))
    if items is None or not all(isinstance(item, str) for item in items):
        raise PolicyConfigError(f"policy config {key!r} must be a list of strings")
    return [str(item) for item in items]


def strings(description: str, default: list[str]) -> dict[str, Any]:
    """Schema of a string-list parameter."""
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": default,
        "description": description,
    }
