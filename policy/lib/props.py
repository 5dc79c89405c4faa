"""Typed reads of the properties the engine hands a policy.

The analyzer passes Mapping/Sequence proxies (not dict/list) that raise ``UnknownValueError`` on a
value not known during preview; the SDK turns that into an advisory "can't run during preview"
notice and the policy runs in full at ``up``. These helpers narrow types without copying, so an
unknown still surfaces that way instead of being mistaken for a missing value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any


def as_mapping(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def as_list(value: object) -> Sequence[Any] | None:
    """A list-like value; strings and bytes are scalars here."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return None


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_number(value: object) -> float | None:
    """Numbers reach policies as floats (``168.0``); booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def dig(value: object, *path: str) -> Any:
    """The value at ``path`` under nested mappings, or None where any step is missing."""
    for key in path:
        mapping = as_mapping(value)
        if mapping is None:
            return None
        value = mapping.get(key)
    return value


def child(path: str, key: str | int) -> str:
    """A property path as messages show it: ``values.coder.env[4]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def string_leaves(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every string under ``value`` with its property path (for content scans)."""
    if isinstance(value, str):
        yield path, value
        return
    mapping = as_mapping(value)
    if mapping is not None:
        for key in mapping:
            yield from string_leaves(mapping[key], child(path, str(key)))
        return
    items = as_list(value)
    if items is not None:
        for index, item in enumerate(items):
            yield from string_leaves(item, child(path, index))


def metadata_text(props: Mapping[str, Any], *path: str) -> str | None:
    """A string under ``metadata`` (name, namespace, a label or an annotation)."""
    return as_text(dig(props, "metadata", *path))
