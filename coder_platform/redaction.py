"""Redaction for everything the runner prints or writes (contract C2: secrets never in logs).

Two layers, because engine output can carry values the runner never saw (a provider error that
echoes a header, a diff of a secret): known values (secret config, secret outputs, tokens the run
obtained, secret-looking environment variables) are replaced wherever they appear, and patterns
catch credential shapes (auth headers, Vault and Coder tokens, URL passwords, state plaintext).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4
SECRET_ENV_NAME = re.compile(r"(TOKEN|PASSWORD|PASSPHRASE|SECRET|CREDENTIALS?|_KEY)$", re.I)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(\bauthorization\s*[:=]\s*(?:bearer|basic)\s+)[^\s\"',]+"), r"\1" + REDACTED),
    (
        re.compile(r"(?i)((?:coder-session-token|x-vault-token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',]+"),
        r"\1" + REDACTED,
    ),
    (
        re.compile(
            r"(?i)(\b[\w.-]*(?:password|passphrase|secret|token)[\"']?\s*(?:=|:(?!:))\s*[\"']?)"
            r"(?!\[redacted\]|\[secret\])[^\s\"',{}\[\]]{4,}"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(?:hvs|hvb|hvr)\.[A-Za-z0-9_-]{20,}"), REDACTED),
    # A bare JWT (a Coder license, a service account token, an OIDC token): base64url header
    # that opens with '{"' (eyJ), payload and signature, without any "token=" around it.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\b[0-9A-Za-z]{10}-[0-9A-Za-z]{22}\b"), REDACTED),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s/]+(@)"), r"\1" + REDACTED + r"\2"),
    (re.compile(r'("plaintext"\s*:\s*)"(?:[^"\\]|\\.)*"'), r'\1"' + REDACTED + '"'),
)


class Redactor:
    """Callable text filter; ``add`` every secret value the run learns as soon as it learns it."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} known values)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Redactor:
        """Seed with values of variables whose names say they are secret (VAULT_TOKEN, ...)."""
        return cls(value for name, value in environ.items() if SECRET_ENV_NAME.search(name))

    def add(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH:
                self._secrets.add(value)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def data(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dict keys included)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value
