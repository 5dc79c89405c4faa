"""The bootstrap inputs a stack reads from Vault, seeded into the local OpenBao when missing.

A real stack's operator puts them there (the README's ``vault kv put`` commands); on loopback
the launcher does it once, with generated values, and never prints or overwrites them. The
paths come from the stack's own config (``vault.*Path``, ``seeding.users[].passwordPath``), so
the program reads exactly what was seeded. One record follows this OpenBao instead: the OIDC
client's (``vault.oidcClientSecretPath``) holds OpenBao's own client, whose issuer URL is named
by the node's address, so ``refresh_oidc_record`` keeps it current on every ``up``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Protocol

from coder_platform.config import PlatformConfig
from coder_platform.contracts import (
    ADMIN_EMAIL_KEY,
    ADMIN_USERNAME_KEY,
    CONNECTION_STRING_KEY,
    LICENSE_KEY,
    OIDC_CLIENT_ID_KEY,
    OIDC_CLIENT_SECRET_KEY,
    OIDC_ISSUER_URL_KEY,
    PASSWORD_KEY,
)
from coder_platform.vault_inputs import (
    ADMIN_KEYS,
    CONNECTION_STRING_KEYS,
    LICENSE_KEYS,
    required_paths,
)
from localplatform.daemon import PartError
from localplatform.license import LicenseSigner
from localplatform.openbao import OidcClient
from localplatform.stack import read_stack

AUTOMATION_USERNAME = "coder-automation"


class LicenseMissingError(PartError):
    """The stack seeds a license from Vault and none is there; a license cannot be generated."""


class ConnectionStringMissingError(PartError):
    """The stack reads a storage connection string and this platform has no store to give."""


def _password() -> str:
    # Coder checks password strength; 32 random URL-safe characters pass it.
    return secrets.token_urlsafe(24)


def stack_vault_paths(config: PlatformConfig) -> dict[str, tuple[str, ...]]:
    """The KV paths the stack's program reads, each with the keys it needs there: the same list
    the program checks before it registers anything (``vault_inputs.required_paths``)."""
    return dict(required_paths(config.vault, config.seeding, config.database.backup, config.coder))


class KvStore(Protocol):
    """What seeding needs of OpenBao's KV (LocalOpenBao; a dict-backed fake in tests)."""

    def read_kv(self, path: str) -> dict[str, str] | None: ...

    def write_kv(self, path: str, data: dict[str, str]) -> None: ...


def seed_missing_inputs(
    kv: KvStore,
    stack_file: Path,
    oidc: OidcClient | None,
    license_signer: LicenseSigner | None = None,
    store_connection_string: str | None = None,
) -> list[str]:
    """Write each missing input with a generated value; return the paths written (no values).

    A missing license is signed with the platform's own key (``license_signer``), which the
    local Coder trusts; without a signer it is refused: Coder verifies a license's signature,
    so only a real one (``bao kv put``) can go there. A missing storage connection string is
    the node's Azurite account (``store_connection_string``); without a node it is refused.
    """
    written: list[str] = []
    for path, keys in stack_vault_paths(read_stack(stack_file)).items():
        if kv.read_kv(path) is not None:
            continue
        if keys == CONNECTION_STRING_KEYS:
            if store_connection_string is None:
                raise ConnectionStringMissingError(
                    f"{path}: the stack's backups read a storage connection string from "
                    "OpenBao and there is none; start the platform with --node (its Azurite "
                    f"account is seeded there), or put one there (bao kv put "
                    f"-mount=<kvMount> {path} {CONNECTION_STRING_KEY}=<connection string>)"
                )
            kv.write_kv(path, {CONNECTION_STRING_KEY: store_connection_string})
            written.append(path)
            continue
        if keys == LICENSE_KEYS and license_signer is not None:
            kv.write_kv(path, {LICENSE_KEY: license_signer.sign()})
            written.append(path)
            continue
        if keys == LICENSE_KEYS:
            raise LicenseMissingError(
                f"{path}: the stack seeds a Coder license from OpenBao and there is none; put "
                f"one there (bao kv put -mount=<kvMount> {path} license=<jwt>) or remove "
                "seeding.license from the stack"
            )
        kv.write_kv(path, _generated(keys, oidc))
        written.append(path)
    return written


def oidc_record(oidc: OidcClient) -> dict[str, str]:
    """OpenBao's OIDC client as the program reads it at ``vault.oidcClientSecretPath``."""
    return {
        OIDC_CLIENT_SECRET_KEY: oidc.client_secret,
        OIDC_CLIENT_ID_KEY: oidc.client_id,
        OIDC_ISSUER_URL_KEY: oidc.issuer_url,
    }


def refresh_oidc_record(kv: KvStore, path: str, oidc: OidcClient) -> list[str]:
    """Rewrite the OIDC record's keys that differ from OpenBao's client; return their names
    (never values). Inputs are seeded once per stack file (``LocalPlatform._inputs_stamp``), but
    this record must follow the instance: one seeded before it held ``issuer_url``, or before
    the node's address changed (the issuer is named by it), would give a deployed Coder an
    issuer it cannot reach. Other keys in the record are kept; a missing record is seeding's."""
    data = kv.read_kv(path)
    if data is None:
        return []
    wanted = oidc_record(oidc)
    stale = [key for key, value in wanted.items() if data.get(key) != value]
    if stale:
        kv.write_kv(path, {**data, **wanted})
    return stale


def _generated(keys: tuple[str, ...], oidc: OidcClient | None) -> dict[str, str]:
    if OIDC_CLIENT_SECRET_KEY in keys:
        if oidc is not None:
            return oidc_record(oidc)
        # No OIDC in this OpenBao: Coder runs with password and none users only.
        return {OIDC_CLIENT_SECRET_KEY: _password(), OIDC_CLIENT_ID_KEY: "none"}
    if keys == ADMIN_KEYS:
        return {
            ADMIN_EMAIL_KEY: f"{AUTOMATION_USERNAME}@coder-platform.local",
            ADMIN_USERNAME_KEY: AUTOMATION_USERNAME,
            PASSWORD_KEY: _password(),
        }
    return {key: _password() for key in keys}
