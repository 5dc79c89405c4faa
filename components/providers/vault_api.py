"""Vault (or OpenBao) objects through Vault's HTTP API: a KV v2 secret and an ACL policy.

For engines without the pulumi-vault plugin. The Go module proxy these machines reach refuses
``github.com/pulumi/pulumi-vault/provider`` at every version tried (v5, v6, v7, including
v7.14.0, which the Python SDK pin matches), so the offline toolchain cannot load
``pulumi_vault`` resources. These two cover what the program writes: the published automation
token (KV v2, contract C5) and the reconciler's least-privilege policy.

The token comes from ``VAULT_TOKEN`` in the provider host's environment at call time (the
runner's), never from inputs or state. ``read`` reports a secret or policy that was deleted in
Vault as gone, so the next ``up`` writes it again (C3); errors name the address and path,
never a value. Providers are pickled into state: they hold no client.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pulumi
import pulumi.dynamic as dyn

from components.providers.common import gone, inputs_of

TOKEN_ENV = "VAULT_TOKEN"
# Every call here is idempotent (a KV write replaces the whole version's data, a policy PUT the
# whole policy), so a transport error or 5xx (a sealed or standby node answers 503) is retried,
# within a bound: 3 attempts, 0.5 s then 1 s apart.
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class VaultApiError(RuntimeError):
    """Vault refused or could not be reached; the message names the address and path."""


def _call(
    address: str, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise VaultApiError(
            f"{TOKEN_ENV} is not set: the run needs a token that can write {path} at {address}"
        )
    last = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            # httpx follows no redirect unless asked: a standby's 307 names another host, and
            # following it would hand that host the token. It is answered as an error below.
            response = httpx.request(
                method,
                f"{address.rstrip('/')}/v1/{path}",
                json=body,
                headers={"X-Vault-Token": token},
                timeout=10,
                follow_redirects=False,
            )
        except httpx.HTTPError as error:
            last = type(error).__name__
        else:
            if response.status_code not in RETRYABLE_STATUSES:
                break
            last = f"HTTP {response.status_code}"
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    else:
        raise VaultApiError(
            f"Vault at {address} did not answer {method} {path} after {ATTEMPTS} attempts "
            f"(last: {last}): check vault.address and that Vault is unsealed"
        )
    if response.is_redirect:
        raise VaultApiError(
            f"Vault at {address} answered {method} {path} with a redirect "
            f"({response.status_code}) and it was not followed (it would carry the token to "
            "another host): point vault.address at the active node or its load balancer"
        )
    if response.status_code in (401, 403):
        raise VaultApiError(
            f"Vault at {address} denied {method} {path}: check the policy of {TOKEN_ENV}"
        )
    if response.status_code >= 400 and response.status_code != 404:
        raise VaultApiError(f"Vault at {address}: {method} {path} failed ({response.status_code})")
    return response


class VaultObjectProvider(dyn.ResourceProvider):
    """One Vault object at one API path: written whole, read back, deleted; 404 means gone.

    A subclass says where the object lives (``_api_path``), how it is written (``_write``) and
    which of its state a read refreshes (``_observed``). ``KEYS`` are its inputs, the last one
    updatable in place; a change to any other one replaces the object.
    """

    KEYS: tuple[str, ...] = ()

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        props = inputs_of(props)
        self._write(props)
        return dyn.CreateResult(self._id(props), props)

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        props = inputs_of(props)
        response = _call(props["address"], "GET", self._api_path(props))
        if response.status_code == 404:
            return gone()
        body = response.json().get("data") or {}
        return dyn.ReadResult(id_, {**props, **self._observed(body)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        olds, news = inputs_of(olds), inputs_of(news)
        changed = [key for key in self.KEYS if olds.get(key) != news.get(key)]
        replaces = [key for key in changed if key != self.KEYS[-1]]
        return dyn.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        news = inputs_of(news)
        self._write(news)
        return dyn.UpdateResult(news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        props = inputs_of(props)
        _call(props["address"], "DELETE", self._delete_path(props))

    def _id(self, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def _api_path(self, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def _delete_path(self, props: dict[str, Any]) -> str:
        return self._api_path(props)

    def _write(self, props: dict[str, Any]) -> None:
        raise NotImplementedError

    def _observed(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class VaultKvSecretProvider(VaultObjectProvider):
    """A KV v2 secret at ``mount``/``path`` holding exactly ``data`` (string values)."""

    KEYS = ("address", "mount", "path", "data")

    def _id(self, props: dict[str, Any]) -> str:
        return f"{props['mount']}/{props['path']}"

    def _api_path(self, props: dict[str, Any]) -> str:
        return f"{props['mount']}/data/{props['path']}"

    def _delete_path(self, props: dict[str, Any]) -> str:
        # Deleting the metadata removes every version, so a later read finds nothing.
        return f"{props['mount']}/metadata/{props['path']}"

    def _write(self, props: dict[str, Any]) -> None:
        _call(props["address"], "POST", self._api_path(props), {"data": dict(props["data"])})

    def _observed(self, body: dict[str, Any]) -> dict[str, Any]:
        data = body.get("data") or {}
        return {"data": {str(k): str(v) for k, v in data.items()}}


class VaultPolicyProvider(VaultObjectProvider):
    """An ACL policy ``name`` with exactly the HCL ``policy``."""

    KEYS = ("address", "name", "policy")

    def _id(self, props: dict[str, Any]) -> str:
        return str(props["name"])

    def _api_path(self, props: dict[str, Any]) -> str:
        return f"sys/policies/acl/{props['name']}"

    def _write(self, props: dict[str, Any]) -> None:
        _call(props["address"], "PUT", self._api_path(props), {"policy": props["policy"]})

    def _observed(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"policy": body.get("policy", "")}


@dataclass(frozen=True)
class VaultKvSecretArgs:
    address: str
    mount: pulumi.Input[str]
    path: str
    data: pulumi.Input[dict[str, str]]


class VaultKvSecret(dyn.Resource, module="vault", name="VaultKvSecret"):
    """A KV v2 secret written through Vault's API; ``data`` stays secret in state."""

    data: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: VaultKvSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            VaultKvSecretProvider(),
            name,
            {
                "address": args.address,
                "mount": args.mount,
                "path": args.path,
                "data": pulumi.Output.secret(args.data),
            },
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["data"])
            ),
        )


class VaultPolicy(dyn.Resource, module="vault", name="VaultPolicy"):
    """An ACL policy written through Vault's API."""

    policy: pulumi.Output[str]

    def __init__(
        self, name: str, address: str, policy_name: str, policy: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:  # fmt: skip
        super().__init__(
            VaultPolicyProvider(),
            name,
            {"address": address, "name": policy_name, "policy": policy},
            opts,
        )
