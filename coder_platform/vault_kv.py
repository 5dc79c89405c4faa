"""One KV v2 read through hvac, and one reading of how it failed.

The program reads its bootstrap inputs (``coder_platform.vault_inputs``) and the runner reads the
token the stack published (``automation.observe.vault_access``) the same way; each maps the two
failures below onto its own boundary's error, with its own advice. Messages name the mount and
path, never a value.
"""

from __future__ import annotations

import hvac
import requests
from hvac import exceptions as hvac_errors

from coder_platform.vault_http import vault_client


class KvReadError(Exception):
    """Reading ``where`` (``<mount>/<path>``) failed; the subclass says why."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class KvDeniedError(KvReadError):
    """Vault answered 401/403: the token's policy does not grant read on the path."""


class KvUnreachableError(KvReadError):
    """No answer: connection refused, timed out, or Vault sealed/down (503)."""


def client(address: str, token: str) -> hvac.Client:
    """Redirects refused, retries bounded: see ``coder_platform/vault_http.py``."""
    return vault_client(address, token)


def read_kv(vault: hvac.Client, mount: str, path: str) -> dict[str, str] | None:
    """The secret's keys and values as strings (a null value counts as absent), or None when
    the path, or its latest version, does not exist."""
    try:
        response = vault.secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )
    except hvac_errors.InvalidPath:
        return None
    except (hvac_errors.Forbidden, hvac_errors.Unauthorized):
        raise KvDeniedError(f"{mount}/{path}") from None
    except (requests.ConnectionError, requests.Timeout, hvac_errors.VaultDown):
        raise KvUnreachableError(f"{mount}/{path}") from None
    data = response["data"]["data"]
    return {str(key): str(value) for key, value in data.items() if value is not None}
