"""The bootstrap inputs a stack reads from Vault, seeded into the local OpenBao when missing.

A real stack's operator puts them there (the README's ``vault kv put`` commands); on loopback
the launcher does it once, with generated values, and never prints or overwrites them. The
paths come from the stack's own config (``vault.*Path``, ``seeding.users[].passwordPath``), so
the program reads exactly what was seeded.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Protocol

import yaml

from coder_platform.contracts import PROJECT
from localplatform.openbao import OidcClient

AUTOMATION_USERNAME = "coder-automation"


def _password() -> str:
    # Coder checks password strength; 32 random URL-safe characters pass it.
    return secrets.token_urlsafe(24)


def stack_vault_paths(stack_file: Path) -> dict[str, str]:
    """The KV paths the stack reads, by role: oidc, admin, and one per password user."""
    config: dict[str, Any] = (yaml.safe_load(stack_file.read_text()) or {}).get("config", {})
    vault = config.get(f"{PROJECT}:vault") or {}
    seeding = config.get(f"{PROJECT}:seeding") or {}
    paths = {
        "oidc": vault.get("oidcClientSecretPath", "coder/oidc"),
        "admin": vault.get("bootstrapAdminPath", "coder/bootstrap-admin"),
    }
    for user in seeding.get("users") or []:
        if user.get("passwordPath"):
            paths[f"user:{user['username']}"] = user["passwordPath"]
    return paths


class KvStore(Protocol):
    """What seeding needs of OpenBao's KV (LocalOpenBao; a dict-backed fake in tests)."""

    def read_kv(self, path: str) -> dict[str, str] | None: ...

    def write_kv(self, path: str, data: dict[str, str]) -> None: ...


def seed_missing_inputs(kv: KvStore, stack_file: Path, oidc: OidcClient | None) -> list[str]:
    """Write each missing input with a generated value; return the paths written (no values)."""
    written: list[str] = []
    for role, path in stack_vault_paths(stack_file).items():
        if kv.read_kv(path) is not None:
            continue
        if role == "oidc":
            data = {
                "client_secret": oidc.client_secret if oidc else _password(),
                "client_id": oidc.client_id if oidc else "none",
            }
        elif role == "admin":
            data = {
                "email": f"{AUTOMATION_USERNAME}@coder-platform.local",
                "username": AUTOMATION_USERNAME,
                "password": _password(),
            }
        else:
            data = {"password": _password()}
        kv.write_kv(path, data)
        written.append(path)
    return written
