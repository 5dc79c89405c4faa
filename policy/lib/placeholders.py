"""Placeholder values that must never reach a managed stack (contract C1: no silent fallback).

Each kind has a label: a message names the kind of placeholder and its property path, never the
value it found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_EDGE_L = r"(?<![A-Za-z0-9])"
_EDGE_R = r"(?![A-Za-z0-9])"

PLACEHOLDER_KINDS: dict[str, re.Pattern[str]] = {
    "a change-me marker": re.compile(rf"{_EDGE_L}change[-_ .]?me{_EDGE_R}", re.IGNORECASE),
    "a TODO marker": re.compile(rf"{_EDGE_L}TODO{_EDGE_R}"),
    "a replace-me marker": re.compile(rf"{_EDGE_L}replace[-_ .]?me{_EDGE_R}", re.IGNORECASE),
    "an example.com/example.org host": re.compile(
        rf"{_EDGE_L}(?:[a-z0-9-]+\.)*example\.(?:com|org|net){_EDGE_R}", re.IGNORECASE
    ),
    "a dummy marker": re.compile(rf"{_EDGE_L}dummy{_EDGE_R}", re.IGNORECASE),
    "a placeholder marker": re.compile(rf"{_EDGE_L}placeholders?{_EDGE_R}", re.IGNORECASE),
    "an unfilled <template> value": re.compile(r"^\s*<[^<>]+>\s*$"),
}


def placeholder_kind(text: str, extra_markers: Iterable[str] = ()) -> str | None:
    """The label of the first placeholder kind ``text`` contains, or None."""
    for label, pattern in PLACEHOLDER_KINDS.items():
        if pattern.search(text):
            return label
    for marker in extra_markers:
        if re.search(rf"{_EDGE_L}{re.escape(marker)}{_EDGE_R}", text, re.IGNORECASE):
            return "a marker listed in no-placeholders.extraMarkers"
    return None
