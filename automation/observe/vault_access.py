"""Vault for the runner: log in with the pod's service account, read the published token.

In-cluster there is no ``VAULT_TOKEN``: the runner logs in through the Kubernetes auth role
bound to its service account (``VaultSecrets`` creates that role, ``ReconcilerSchedule`` the
account) and hands the token to the engine, whose program reads the bootstrap inputs with it
(contract C5: secrets come from the pipeline). The token, and anything read, goes to the
redactor before it can reach any output (C2).
"""

from __future__ import annotations

from pathlib import Path

import requests
from hvac import exceptions as hvac_errors

from automation.errors import DependencyUnreachableError
from coder_platform import vault_kv
from coder_platform.contracts import PUBLISHED_TOKEN_KEY
from coder_platform.vault_http import vault_client


def kubernetes_login(address: str, role: str, auth_path: str, jwt_file: Path) -> str:
    """``auth/<path>/login`` with the service account JWT; returns the client token."""
    client = vault_client(address)
    try:
        response = client.auth.kubernetes.login(
            role=role, jwt=jwt_file.read_text(encoding="utf-8").strip(), mount_point=auth_path
        )
    except (hvac_errors.Forbidden, hvac_errors.Unauthorized, hvac_errors.InvalidRequest):
        raise DependencyUnreachableError(
            f"Vault refused the Kubernetes login for role {role} at auth/{auth_path}",
            "Check that the role binds this service account and namespace "
            "(coder-platform:vault.reconcilerRole, vault.kubernetesAuthPath)",
        ) from None
    except (requests.ConnectionError, requests.Timeout, hvac_errors.VaultDown):
        raise DependencyUnreachableError(
            f"Vault at {address} did not answer the Kubernetes login",
            "Check coder-platform:vault.address and the network path from the runner",
        ) from None
    return str(response["auth"]["client_token"])


class PublishedTokenReader:
    """Reads the automation token the stack publishes at ``<mount>/<path>`` (KV v2)."""

    def __init__(self, address: str, token: str, mount: str, path: str) -> None:
        self._where = f"{mount}/{path}"
        self._mount, self._path = mount, path
        self._client = vault_kv.client(address, token)

    def __repr__(self) -> str:
        return f"PublishedTokenReader({self._where})"

    def __call__(self) -> str | None:
        try:
            data = vault_kv.read_kv(self._client, self._mount, self._path)
        except vault_kv.KvDeniedError:
            raise DependencyUnreachableError(
                f"Vault denied reading {self._where}",
                "Grant the reconciler's policy read on that path (VaultSecrets write_paths)",
            ) from None
        except vault_kv.KvUnreachableError:
            raise DependencyUnreachableError(
                f"Vault did not answer reading {self._where}", "Check Vault and rerun"
            ) from None
        value = (data or {}).get(PUBLISHED_TOKEN_KEY)
        return value or None
