"""The toolchain's known warnings, said once per run in one compact line for humans.

The offline toolchain (scripts/install-toolchain) makes the engine warn on every operation that
it took a plugin from ``PATH`` and that the kubernetes plugin is older than the SDK pin (the Go
module proxy serves only a pre-4.25 build; it works for every kind this program uses). Repeated
on every phase they bury what matters, so the live view and the human report fold them into one
line; JSON lines and the report's ``diagnostics`` keep each message as the engine sent it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_FROM_PATH = re.compile(r"^using (?P<plugin>pulumi-[\w.-]+) from \$PATH at \S+\s*$")
_VERSION = re.compile(
    r"^resource plugin (?P<name>[\w.-]+) is expected to have version >=(?P<want>\S+), "
    r"but has (?P<has>[^;\s]+);"
)


def compact(message: str) -> str | None:
    """A short phrase for a known toolchain warning, ``None`` for any other message."""
    text = message.strip()
    found = _FROM_PATH.match(text)
    if found:
        return f"{found['plugin']} from PATH"
    found = _VERSION.match(text)
    if found:
        return f"{found['name']} plugin {found['has']} (the SDK pins >={found['want']})"
    return None


def summary_line(messages: Iterable[str]) -> str | None:
    """``toolchain: a; b`` for the known warnings among ``messages`` (each phrase once)."""
    phrases: list[str] = []
    for message in messages:
        phrase = compact(message)
        if phrase is not None and phrase not in phrases:
            phrases.append(phrase)
    return f"toolchain (known, harmless): {'; '.join(phrases)}" if phrases else None
