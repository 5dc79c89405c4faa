"""The local platform's license key: made once, kept 0600, its license verifiable by the public
half the local Coder is started with, in the claims format Coder 2.36 checks."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from localplatform.license import (
    LICENSE_KEY_ID,
    LICENSE_KEY_ID_ENV,
    LICENSE_PUBLIC_KEY_ENV,
    LicenseSigner,
)

NOW = 1_800_000_000


def _part(segment: str) -> dict[str, Any]:
    decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert isinstance(decoded, dict)
    return decoded


def test_the_key_is_made_once_and_kept_private_when_first_used(tmp_path: Path) -> None:
    signer = LicenseSigner(tmp_path / "license" / "signing-key.pem")
    first = signer.public_key()
    assert signer.key_file.stat().st_mode & 0o777 == 0o600
    assert LicenseSigner(signer.key_file).public_key() == first
    assert len(base64.b64decode(first)) == 32
    assert "PRIVATE KEY" not in first


def test_a_signed_license_verifies_with_the_public_key_coder_is_given(tmp_path: Path) -> None:
    signer = LicenseSigner(tmp_path / "key.pem")
    jwt = signer.sign(now=NOW)
    header, claims, signature = jwt.split(".")
    env = signer.coder_environment()
    assert env[LICENSE_KEY_ID_ENV] == LICENSE_KEY_ID == _part(header)["kid"]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(env[LICENSE_PUBLIC_KEY_ENV]))
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    public.verify(raw_signature, f"{header}.{claims}".encode())
    other = LicenseSigner(tmp_path / "other.pem").public_key()
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(base64.b64decode(other)).verify(
            raw_signature, f"{header}.{claims}".encode()
        )


def test_the_claims_are_the_ones_coder_validates_when_signed(tmp_path: Path) -> None:
    claims = _part(LicenseSigner(tmp_path / "key.pem").sign(now=NOW, days=30).split(".")[1])
    assert _part(LicenseSigner(tmp_path / "key.pem").sign(now=NOW).split(".")[0])["alg"] == "EdDSA"
    assert claims["version"] == 3
    assert claims["iat"] == claims["nbf"] == NOW - 60
    assert claims["exp"] == claims["license_expires"] == NOW - 60 + 30 * 86_400
    assert claims["account_type"] and claims["account_id"]
    assert claims["feature_set"] == "premium" and claims["features"]["user_limit"] > 0
