"""Read the bootstrap inputs from Vault KV before anything is registered (contract C1).

A missing path or key fails the run with a message naming the path and key, never the value,
and every gap is reported at once. Values are wrapped so no repr or log can show them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from coder_platform import vault_kv
from coder_platform.config import (
    BackupConfig,
    CoderConfig,
    LocalSecretsConfig,
    SeedingConfig,
    VaultConfig,
)
from coder_platform.contracts import (
    ADMIN_EMAIL_KEY,
    ADMIN_USERNAME_KEY,
    CONNECTION_STRING_KEY,
    LICENSE_KEY,
    OIDC_CLIENT_ID_KEY,
    OIDC_CLIENT_SECRET_KEY,
    OIDC_ISSUER_URL_KEY,
    PASSWORD_KEY,
    PROJECT,
)

OIDC_KEYS = (OIDC_CLIENT_SECRET_KEY,)
ADMIN_KEYS = (ADMIN_EMAIL_KEY, ADMIN_USERNAME_KEY, PASSWORD_KEY)
LICENSE_KEYS = (LICENSE_KEY,)
PASSWORD_KEYS = (PASSWORD_KEY,)
CONNECTION_STRING_KEYS = (CONNECTION_STRING_KEY,)
# The keys above whose values are secrets (an email or a username is not).
SECRET_KEYS = frozenset({OIDC_CLIENT_SECRET_KEY, PASSWORD_KEY, LICENSE_KEY, CONNECTION_STRING_KEY})


class VaultInputError(Exception):
    """A required Vault input is missing or unreadable; nothing was deployed."""


class KvReader(Protocol):
    def read(self, mount: str, path: str) -> Mapping[str, str] | None:
        """The secret's keys and values, or None when the path does not exist."""
        ...


@dataclass(frozen=True)
class BootstrapInputs:
    """The secrets the program needs; ``SecretStr`` keeps them out of every repr."""

    oidc_client_secret: SecretStr
    admin_email: str
    admin_username: str
    admin_password: SecretStr
    license: SecretStr | None = None
    user_passwords: Mapping[str, SecretStr] = field(default_factory=dict)
    backup_connection_string: SecretStr | None = None
    # Read beside the client secret only where the config leaves them unset (``oidc_keys``);
    # None otherwise, and the config's values are used.
    oidc_client_id: str | None = None
    oidc_issuer_url: str | None = None


class HvacKvReader:
    """KV v2 reads through hvac; the token comes from VAULT_TOKEN, never from config."""

    def __init__(self, address: str, token: str) -> None:
        self._address = address
        self._client = vault_kv.client(address, token)

    def __repr__(self) -> str:
        return f"HvacKvReader(address={self._address!r})"

    def read(self, mount: str, path: str) -> Mapping[str, str] | None:
        try:
            return vault_kv.read_kv(self._client, mount, path)
        except vault_kv.KvDeniedError as denied:
            raise VaultInputError(
                f"Vault denied reading {denied.where}: check VAULT_TOKEN's policy grants read "
                "on that path"
            ) from None
        except vault_kv.KvUnreachableError:
            raise VaultInputError(
                f"Vault at {self._address} is unreachable: check vault.address and the network"
            ) from None


def default_reader(config: VaultConfig) -> KvReader:
    token = os.environ.get("VAULT_TOKEN")
    if not token:
        raise VaultInputError(
            "VAULT_TOKEN is not set: export a token that can read the bootstrap paths "
            f"under {config.kv_mount}/{config.path_prefix}"
        )
    return HvacKvReader(str(config.address), token)


# Swapped by tests for an in-memory reader; production reads Vault through hvac.
reader_factory: Callable[[VaultConfig], KvReader] = default_reader


def oidc_keys(coder: CoderConfig | None) -> tuple[str, ...]:
    """The keys the program reads at ``vault.oidcClientSecretPath``: the client secret, and the
    client id and issuer URL that a deployed Coder's config leaves unset (allowed on loopback
    stacks only, ``PlatformConfig.oidc_from_vault``; the local launcher writes both there)."""
    oidc = coder.oidc if coder is not None and coder.enabled and coder.deploy else None
    if oidc is None:
        return OIDC_KEYS
    unset = ((OIDC_CLIENT_ID_KEY, oidc.client_id), (OIDC_ISSUER_URL_KEY, oidc.issuer_url))
    return (*OIDC_KEYS, *(key for key, value in unset if value is None))


def required_paths(
    config: VaultConfig,
    seeding: SeedingConfig | None,
    backup: BackupConfig | None = None,
    coder: CoderConfig | None = None,
) -> list[tuple[str, tuple[str, ...]]]:
    """Every KV path the program reads, with the keys it needs there."""
    paths = [
        (config.oidc_client_secret_path, oidc_keys(coder)),
        (config.bootstrap_admin_path, ADMIN_KEYS),
    ]
    if backup is not None and backup.connection_string_path is not None:
        paths.append((backup.connection_string_path, CONNECTION_STRING_KEYS))
    if seeding is not None and seeding.enabled:
        if seeding.license is not None:
            paths.append((seeding.license.vault_path, LICENSE_KEYS))
        paths += [(u.password_path, PASSWORD_KEYS) for u in seeding.users if u.password_path]
    return list(dict.fromkeys(paths))


def secret_values(
    config: VaultConfig,
    seeding: SeedingConfig | None,
    reader: KvReader,
    backup: BackupConfig | None = None,
) -> list[str]:
    """Every secret value the program reads from Vault, for the runner's redactor: the program
    runs in the engine's process, and whatever it or a provider prints (an error that echoes a
    request body) reaches the runner's output unmasked unless the runner knows the value too.
    Missing paths are skipped: the program names them itself."""
    values: list[str] = []
    for path, keys in required_paths(config, seeding, backup):
        data = reader.read(config.kv_mount, path) or {}
        values += [data[key] for key in keys if key in SECRET_KEYS and data.get(key)]
    return values


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def read_from_vault(
    config: VaultConfig,
    seeding: SeedingConfig | None = None,
    backup: BackupConfig | None = None,
    coder: CoderConfig | None = None,
) -> BootstrapInputs:
    """Read every input at once; report every missing path or key together (C1)."""
    reader = reader_factory(config)
    found: dict[str, Mapping[str, str]] = {}
    problems: list[str] = []
    for path, keys in required_paths(config, seeding, backup, coder):
        data = reader.read(config.kv_mount, path)
        where = f"{config.kv_mount}/{path}"
        if data is None:
            problems.append(f"{where}: path not found (needs keys {', '.join(keys)})")
            continue
        problems += [f"{where}: key {key} is missing or empty" for key in keys if not data.get(key)]
        issuer = data.get(OIDC_ISSUER_URL_KEY) if OIDC_ISSUER_URL_KEY in keys else None
        if issuer and not _is_http_url(issuer):
            problems.append(f"{where}: key {OIDC_ISSUER_URL_KEY} is not an http(s) URL")
        found[path] = data
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise VaultInputError(
            f"missing Vault inputs ({len(problems)}); nothing was deployed:\n{listed}\n"
            "Create them with the commands in the README's Secrets section."
        )
    oidc = found[config.oidc_client_secret_path]
    oidc_read = oidc_keys(coder)
    admin = found[config.bootstrap_admin_path]
    license_path = seeding.license.vault_path if seeding and seeding.license else None
    store_path = backup.connection_string_path if backup else None
    users = seeding.users if seeding and seeding.enabled else []
    return BootstrapInputs(
        oidc_client_secret=SecretStr(oidc[OIDC_CLIENT_SECRET_KEY]),
        admin_email=admin[ADMIN_EMAIL_KEY],
        admin_username=admin[ADMIN_USERNAME_KEY],
        admin_password=SecretStr(admin[PASSWORD_KEY]),
        license=SecretStr(found[license_path][LICENSE_KEY]) if license_path else None,
        user_passwords={
            user.username: SecretStr(found[user.password_path][PASSWORD_KEY])
            for user in users
            if user.password_path
        },
        backup_connection_string=(
            SecretStr(found[store_path][CONNECTION_STRING_KEY]) if store_path else None
        ),
        oidc_client_id=oidc.get(OIDC_CLIENT_ID_KEY) if OIDC_CLIENT_ID_KEY in oidc_read else None,
        oidc_issuer_url=(
            oidc.get(OIDC_ISSUER_URL_KEY) if OIDC_ISSUER_URL_KEY in oidc_read else None
        ),
    )


def read_connection_string(config: VaultConfig, backup: BackupConfig) -> SecretStr | None:
    """The backup store's connection string alone, for a stack without Coder (with Coder,
    ``read_from_vault`` reads it with the other inputs); None unless the stack names one."""
    path = backup.connection_string_path
    if path is None:
        return None
    data = reader_factory(config).read(config.kv_mount, path) or {}
    value = data.get(CONNECTION_STRING_KEY)
    if not value:
        raise VaultInputError(
            f"missing Vault inputs (1); nothing was deployed:\n  - {config.kv_mount}/{path}: "
            f"key {CONNECTION_STRING_KEY} is missing or empty"
        )
    return SecretStr(value)


def read_from_local(config: LocalSecretsConfig) -> BootstrapInputs:
    """Pulumi secret config instead of Vault: for local and e2e stacks only."""
    missing = [
        f"{PROJECT}:localSecrets.{key}"
        for key, value in (
            ("oidcClientSecret", config.oidc_client_secret),
            ("bootstrapAdminEmail", config.bootstrap_admin_email),
            ("bootstrapAdminUsername", config.bootstrap_admin_username),
            ("bootstrapAdminPassword", config.bootstrap_admin_password),
        )
        if not value
    ]
    if missing:
        raise VaultInputError(f"missing local secrets; nothing was deployed: {', '.join(missing)}")
    assert config.oidc_client_secret and config.bootstrap_admin_password
    return BootstrapInputs(
        oidc_client_secret=config.oidc_client_secret,
        admin_email=str(config.bootstrap_admin_email),
        admin_username=str(config.bootstrap_admin_username),
        admin_password=config.bootstrap_admin_password,
    )
