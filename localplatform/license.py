"""A Premium license the local Coder really verifies: signed here, with a key only this platform
holds, and trusted by the local Coder build for as long as it runs.

Coder checks a license JWT with the ed25519 public key its ``kid`` header names, in the map
``enterprise/coderd.Keys`` of the binary (``enterprise/coderd/license/license.go``:
``ParseClaims``, ``validateClaims``). The local build's entry point (tools/coder/cmd/coder) adds
one key to that map at start-up, from ``LICENSE_PUBLIC_KEY_ENV``; this module makes the key pair
(the private half 0600 beside the platform's other local secrets, never printed) and signs the
license the local stack seeds from OpenBao. So groups, template ACLs, service accounts and
advanced scheduling go through Coder's own entitlement checks on loopback.

The claims follow ``license.Claims`` at Coder 2.36: ``version`` 3, ``iat``/``nbf``/``exp``,
``license_expires`` under five years away, an ``account_type`` and ``account_id``, the Premium
``feature_set`` (every Premium feature), and a ``user_limit`` in ``features``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from localplatform.daemon import write_private

# The contract with tools/coder/cmd/coder/main.go (a Go file: the names are spelled there too).
LICENSE_PUBLIC_KEY_ENV: Final = "CODER_PLATFORM_LICENSE_PUBLIC_KEY"
LICENSE_KEY_ID_ENV: Final = "CODER_PLATFORM_LICENSE_KEY_ID"
LICENSE_KEY_ID: Final = "coder-platform-local"

LICENSE_VERSION: Final = 3  # license.CurrentVersion
LICENSE_DAYS: Final = 365
USER_LIMIT: Final = 100
DAY_SECONDS: Final = 86_400


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class LicenseSigner:
    """The platform's license key pair, made on first use and kept in ``key_file`` (0600)."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file

    def _private_key(self) -> Ed25519PrivateKey:
        if not self.key_file.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private(self.key_file, pem.decode())
            return key
        loaded = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{self.key_file} holds no ed25519 private key; delete it")
        return loaded

    def public_key(self) -> str:
        """The public half, base64: what the local Coder is started with."""
        raw = (
            self._private_key()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return base64.b64encode(raw).decode()

    def coder_environment(self) -> dict[str, str]:
        return {LICENSE_PUBLIC_KEY_ENV: self.public_key(), LICENSE_KEY_ID_ENV: LICENSE_KEY_ID}

    def sign(self, *, now: float | None = None, days: int = LICENSE_DAYS) -> str:
        """A Premium license JWT valid from a minute ago for ``days`` days."""
        issued = int(now if now is not None else time.time()) - 60
        expires = issued + days * DAY_SECONDS
        header = {"alg": "EdDSA", "typ": "JWT", "kid": LICENSE_KEY_ID}
        claims: dict[str, Any] = {
            "iss": "coder-platform local platform",
            "sub": "coder-platform-local",
            "jti": str(uuid.uuid4()),
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "license_expires": expires,
            "account_type": "salesforce",
            "account_id": "coder-platform-local",
            "trial": False,
            "feature_set": "premium",
            "version": LICENSE_VERSION,
            "features": {"user_limit": USER_LIMIT},
        }
        signing_input = ".".join(
            _segment(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._private_key().sign(signing_input.encode())
        return f"{signing_input}.{_segment(signature)}"
