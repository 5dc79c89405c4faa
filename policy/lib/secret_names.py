"""Which variable or key names look like they hold a secret (contract C5).

A name is split into words (``CODER_OIDC_CLIENT_SECRET``, ``clientSecret``, ``PGPASSWORD``) and
looks secret when it ENDS in a secret noun: ``CODER_MAX_TOKEN_LIFETIME``, ``tokenTtl`` and
``tls.secretName`` name settings or references, not secrets. ``existing*`` keys
(``existingSecret``) name a Secret that already holds the value, so they are references too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_SECRET_NOUNS = [
    "SECRET",
    "CLIENT_SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "TOKEN",
    "PRIVATE_KEY",
    "API_KEY",
    "ACCESS_KEY",
    "SECRET_KEY",
    "CONNECTION_URL",
    "CONNECTION_STRING",
]
REFERENCE_PREFIXES = ("existing",)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(name)]


def looks_secret(name: str, nouns: Iterable[str], allowed: Iterable[str] = ()) -> bool:
    if name in set(allowed):
        return False
    parts = words(name)
    if not parts or parts[0] in REFERENCE_PREFIXES:
        return False
    for noun in nouns:
        noun_parts = words(noun)
        if not noun_parts:
            continue
        if parts[-len(noun_parts) :] == noun_parts or parts[-1].endswith("".join(noun_parts)):
            return True
    return False
