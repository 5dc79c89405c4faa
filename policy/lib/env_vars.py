"""Kubernetes EnvVar lists (``[{name, value | valueFrom}]``) in pod specs and Helm values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .props import as_list, as_mapping, as_text, child


@dataclass(frozen=True)
class EnvVar:
    index: int
    name: str
    literal: str | None
    """The ``value`` when set as a non-empty literal; None when absent, empty or ``valueFrom``."""


def env_vars(value: object) -> Iterator[EnvVar]:
    """Each named entry of an EnvVar list; anything else in the list is skipped."""
    for index, item in enumerate(as_list(value) or []):
        entry = as_mapping(item)
        name = as_text(entry.get("name")) if entry is not None else None
        if entry is None or name is None:
            continue
        literal = as_text(entry.get("value"))
        yield EnvVar(index, name, literal or None)


def find_env(value: object, name: str) -> EnvVar | None:
    """The entry for ``name`` in an EnvVar list (the last one wins, as in Kubernetes)."""
    found: EnvVar | None = None
    for var in env_vars(value):
        if var.name == name:
            found = var
    return found


def literal_env(value: object, name: str) -> str | None:
    """The literal value of ``name``, or None when it is unset, empty or a ``valueFrom``."""
    var = find_env(value, name)
    return var.literal if var is not None else None


def is_env_list(value: object) -> bool:
    """A non-empty list whose every item is shaped like an EnvVar (``name`` plus a value)."""
    items = as_list(value)
    if not items:
        return False
    for item in items:
        entry = as_mapping(item)
        keys = set(entry) if entry is not None else set()  # keys only: no value is read
        if "name" not in keys or not keys & {"value", "valueFrom"}:
            return False
    return True


def env_lists(value: object, path: str) -> Iterator[tuple[str, Any]]:
    """Every EnvVar-shaped list anywhere below ``value`` (``env``, ``extraEnv``, ...), with its
    path."""
    if is_env_list(value):
        yield path, value
        return
    mapping: Mapping[str, Any] | None = as_mapping(value)
    if mapping is not None:
        for key in mapping:
            yield from env_lists(mapping[key], child(path, str(key)))
        return
    for index, item in enumerate(as_list(value) or []):
        yield from env_lists(item, child(path, index))
