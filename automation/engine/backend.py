"""Where state lives and how it is encrypted: the embedded default or a managed backend.

With no ``PULUMI_BACKEND_URL`` the runner uses a file backend inside the project
(``.pulumi-state/``, git-ignored) and a passphrase secrets provider with a clearly-labelled,
public, local-only passphrase, so a newcomer can run a local stack at once. Managed stacks
(environment dev/prod) may not use either default (contract C1: no silent fallback in managed
environments): they need ``PULUMI_BACKEND_URL`` (e.g. ``azblob://state``) and a key-vault secrets
provider (``CODER_PLATFORM_SECRETS_PROVIDER=azurekeyvault://...``), as the README documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.errors import ConfigInvalidError, UnknownStackError
from coder_platform.config import (
    MANAGED_ENVIRONMENTS,
    StackFileError,
    stack_file_config,
    stack_file_document,
)
from coder_platform.contracts import LOCAL_ONLY_PASSPHRASE, SECRETS_PROVIDER_ENV

LOCAL_STATE_DIR = ".pulumi-state"


@dataclass(frozen=True)
class BackendSettings:
    url: str
    secrets_provider: str
    env: Mapping[str, str]
    embedded: bool
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # env may hold a passphrase: never part of a repr.
        return f"BackendSettings(url={self.url!r}, secrets_provider={self.secrets_provider!r})"


def stack_environment(work_dir: Path, stack: str) -> str | None:
    """``coder-platform:environment`` from the stack file, read before any CLI call."""
    project = _document(work_dir / "Pulumi.yaml")
    config_dir = work_dir / str(project.get("stackConfigDir", "."))
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        # Refused before any CLI call: on the embedded backend a typo would otherwise create a
        # new stack (state and a stack file) for a name nobody configured.
        known = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml")
        )
        raise UnknownStackError(
            f"unknown stack {stack!r}: there is no {path.relative_to(work_dir)}",
            f"Use one of: {', '.join(known) or '(none)'}; or create that file to add the stack",
        )
    value = stack_file_config(_document(path)).get("environment")
    return str(value) if value is not None else None


def resolve_backend(
    work_dir: Path, environ: Mapping[str, str], environment: str | None
) -> BackendSettings:
    """Pick the backend and secrets provider for this run; refuse defaults for managed stacks."""
    managed = environment in MANAGED_ENVIRONMENTS
    url = environ.get("PULUMI_BACKEND_URL", "").strip()
    provider = environ.get(SECRETS_PROVIDER_ENV, "").strip() or "passphrase"
    env: dict[str, str] = {"PULUMI_SKIP_UPDATE_CHECK": "true"}
    notes: list[str] = []
    embedded = not url
    if embedded:
        if managed:
            raise ConfigInvalidError(
                f"environment {environment} is managed and may not use the embedded local "
                "backend (.pulumi-state/)",
                "Set PULUMI_BACKEND_URL (e.g. azblob://<container>) and "
                f"{SECRETS_PROVIDER_ENV} (e.g. azurekeyvault://<vault>.vault.azure.net/keys/<key>)",
            )
        state_dir = work_dir / LOCAL_STATE_DIR
        state_dir.mkdir(parents=True, exist_ok=True)
        url = state_dir.resolve().as_uri()
        notes.append(f"embedded backend {url} (local stacks only)")
    env["PULUMI_BACKEND_URL"] = url
    if provider.split("://", 1)[0] == "passphrase" and not _has_passphrase(environ):
        if managed or not embedded:
            raise ConfigInvalidError(
                "the passphrase secrets provider needs PULUMI_CONFIG_PASSPHRASE or "
                "PULUMI_CONFIG_PASSPHRASE_FILE, and neither is set",
                "Export one of them, or use a key-vault provider via "
                f"{SECRETS_PROVIDER_ENV}=azurekeyvault://...",
            )
        env["PULUMI_CONFIG_PASSPHRASE"] = LOCAL_ONLY_PASSPHRASE
        notes.append("local-only passphrase (public; never for managed stacks)")
    return BackendSettings(
        url=url, secrets_provider=provider, env=env, embedded=embedded, notes=tuple(notes)
    )


def _has_passphrase(environ: Mapping[str, str]) -> bool:
    return "PULUMI_CONFIG_PASSPHRASE" in environ or bool(
        environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    )


def _document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return stack_file_document(path)
    except StackFileError as error:
        raise ConfigInvalidError(
            str(error), f"Fix the syntax at that line of {path.name}"
        ) from None
