"""Vault objects through Vault's HTTP API (for engines without the pulumi-vault plugin): written
as declared, read back so a hand change shows as drift and a deletion as gone, and every error
names the address and path, never a value."""

from __future__ import annotations

import base64
import json
from typing import Any

import dill
import httpx
import pytest

from components.providers import vault_api
from components.providers.vault_api import (
    VaultApiError,
    VaultKvSecretProvider,
    VaultObjectProvider,
    VaultPolicyProvider,
)

ADDRESS = "http://127.0.0.1:18200"
SECRET = "s3cr3t-token-value"


class FakeVault:
    """KV v2 and ACL policies as Vault's HTTP API answers them."""

    def __init__(self) -> None:
        self.kv: dict[str, dict[str, str]] = {}
        self.policies: dict[str, str] = {}
        self.tokens_seen: list[str] = []

    def request(self, method: str, url: str, json: Any = None, **kw: Any) -> httpx.Response:
        self.tokens_seen.append(kw["headers"]["X-Vault-Token"])
        path = url.split("/v1/", 1)[1]
        request = httpx.Request(method, url)
        if path.startswith("sys/policies/acl/"):
            return self._policy(method, path.rsplit("/", 1)[1], json, request)
        return self._kv(method, path, json, request)

    def _policy(self, method: str, name: str, body: Any, request: httpx.Request) -> httpx.Response:
        if method == "PUT":
            self.policies[name] = body["policy"]
        elif method == "DELETE":
            self.policies.pop(name, None)
        elif name not in self.policies:
            return httpx.Response(404, json={"errors": []}, request=request)
        else:
            return httpx.Response(
                200, json={"data": {"policy": self.policies[name]}}, request=request
            )
        return httpx.Response(204, request=request)

    def _kv(self, method: str, path: str, body: Any, request: httpx.Request) -> httpx.Response:
        mount, kind, key = path.split("/", 2)
        where = f"{mount}/{key}"
        if method == "POST":
            self.kv[where] = dict(body["data"])
        elif method == "DELETE" and kind == "metadata":
            self.kv.pop(where, None)
        elif where not in self.kv:
            return httpx.Response(404, json={"errors": []}, request=request)
        else:
            return httpx.Response(200, json={"data": {"data": self.kv[where]}}, request=request)
        return httpx.Response(204, request=request)


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch) -> FakeVault:
    fake = FakeVault()
    monkeypatch.setenv("VAULT_TOKEN", "root-of-the-test")
    monkeypatch.setattr(httpx, "request", fake.request)
    return fake


def secret_props() -> dict[str, Any]:
    return {
        "address": ADDRESS,
        "mount": "platform",
        "path": "coder/coder-cli-session-token",
        "data": {"token": SECRET},
    }


def test_a_secret_is_written_with_the_runners_token_when_created(vault: FakeVault) -> None:
    created = VaultKvSecretProvider().create(secret_props())
    assert created.id == "platform/coder/coder-cli-session-token"
    assert vault.kv["platform/coder/coder-cli-session-token"] == {"token": SECRET}
    assert vault.tokens_seen == ["root-of-the-test"]


def test_a_secret_deleted_in_vault_reads_as_gone_so_the_next_up_writes_it(vault: FakeVault) -> None:
    provider = VaultKvSecretProvider()
    provider.create(secret_props())
    vault.kv.clear()
    assert provider.read("platform/coder/coder-cli-session-token", secret_props()).id == ""


def test_a_secret_changed_by_hand_shows_as_an_update_when_read_back(vault: FakeVault) -> None:
    provider = VaultKvSecretProvider()
    provider.create(secret_props())
    vault.kv["platform/coder/coder-cli-session-token"] = {"token": "edited"}
    read = provider.read("x", secret_props())
    diff = provider.diff("x", dict(read.outs or {}), secret_props())
    assert diff.changes and not diff.replaces
    provider.update("x", dict(read.outs or {}), secret_props())
    assert vault.kv["platform/coder/coder-cli-session-token"] == {"token": SECRET}


def test_a_moved_secret_is_replaced_when_its_path_changes(vault: FakeVault) -> None:
    moved = {**secret_props(), "path": "coder/elsewhere"}
    diff = VaultKvSecretProvider().diff("x", secret_props(), moved)
    assert diff.replaces == ["path"]


def test_a_policy_is_written_read_back_and_deleted(vault: FakeVault) -> None:
    provider = VaultPolicyProvider()
    props = {"address": ADDRESS, "name": "coder-reconciler", "policy": 'path "a" {}\n'}
    provider.create(props)
    assert provider.read("coder-reconciler", props).outs == props
    provider.delete("coder-reconciler", props)
    assert provider.read("coder-reconciler", props).id == ""


def test_a_missing_token_is_named_before_any_call(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(VaultApiError, match="VAULT_TOKEN is not set"):
        VaultKvSecretProvider().create(secret_props())
    assert vault.tokens_seen == []


def test_an_unreachable_vault_is_named_by_address_and_no_value_leaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "root-of-the-test")
    monkeypatch.setattr("components.providers.vault_api.time.sleep", lambda _s: None)

    def refuse(*_a: Any, **_k: Any) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(httpx, "request", refuse)
    with pytest.raises(VaultApiError) as caught:
        VaultKvSecretProvider().create(secret_props())
    assert ADDRESS in str(caught.value)
    assert SECRET not in str(caught.value) and "root-of-the-test" not in str(caught.value)


def test_a_denied_write_names_the_path_and_the_token_policy(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deny(method: str, url: str, **_k: Any) -> httpx.Response:
        return httpx.Response(403, content=json.dumps({"errors": ["permission denied"]}))

    monkeypatch.setattr(httpx, "request", deny)
    with pytest.raises(VaultApiError, match=r"denied POST platform/data/coder/coder-cli"):
        VaultKvSecretProvider().create(secret_props())


# serialize_provider(<Provider>()) before both providers shared VaultObjectProvider (the classes
# kept their module and names, so state written then names the same classes).
PICKLED_BEFORE_THE_SHARED_BASE = {
    VaultKvSecretProvider: (
        "gASVPwAAAAAAAACMHmNvbXBvbmVudHMucHJvdmlkZXJzLnZhdWx0X2FwaZSMFVZhdWx0S3ZTZWNyZXRQcm92aWRlcpST"
        "lCmBlC4="
    ),
    VaultPolicyProvider: (
        "gASVPQAAAAAAAACMHmNvbXBvbmVudHMucHJvdmlkZXJzLnZhdWx0X2FwaZSME1ZhdWx0UG9saWN5UHJvdmlkZXKUk5Qp"
        "gZQu"
    ),
}


def old_provider(provider_class: type[VaultObjectProvider]) -> Any:
    return dill.loads(base64.b64decode(PICKLED_BEFORE_THE_SHARED_BASE[provider_class]))


def test_old_secret_state_reads_and_deletes_when_loaded_after_the_shared_base(
    vault: FakeVault,
) -> None:
    VaultKvSecretProvider().create(secret_props())
    provider = old_provider(VaultKvSecretProvider)
    assert type(provider) is VaultKvSecretProvider

    read = provider.read("platform/coder/coder-cli-session-token", secret_props())
    assert read.outs is not None
    assert read.outs["data"] == {"token": SECRET}
    provider.delete("platform/coder/coder-cli-session-token", secret_props())
    assert vault.kv == {}


def test_old_policy_state_reads_and_deletes_when_loaded_after_the_shared_base(
    vault: FakeVault,
) -> None:
    props = {"address": ADDRESS, "name": "coder-reconciler", "policy": 'path "x" {}'}
    VaultPolicyProvider().create(props)
    provider = old_provider(VaultPolicyProvider)
    assert type(provider) is VaultPolicyProvider

    read = provider.read("coder-reconciler", props)
    assert read.outs is not None
    assert read.outs["policy"] == 'path "x" {}'
    provider.delete("coder-reconciler", props)
    assert vault.policies == {}


def test_a_redirect_is_an_error_and_the_token_never_reaches_the_other_host(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standby answers 307 with the active node's address: before, that counted as a
    successful write that wrote nothing."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def standby(method: str, url: str, **kw: Any) -> httpx.Response:
        sent.append((url, kw))
        return httpx.Response(307, headers={"Location": "https://elsewhere.example/v1/x"})

    monkeypatch.setattr(httpx, "request", standby)

    with pytest.raises(VaultApiError) as caught:
        VaultKvSecretProvider().create(secret_props())

    assert "redirect (307)" in str(caught.value) and ADDRESS in str(caught.value)
    assert [url for url, _ in sent] == [f"{ADDRESS}/v1/platform/data/coder/coder-cli-session-token"]
    assert all(kw["follow_redirects"] is False for _, kw in sent)
    assert vault.kv == {}
    assert "root-of-the-test" not in str(caught.value)


def test_a_sealed_vault_is_retried_within_a_bound_then_named(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr("components.providers.vault_api.time.sleep", lambda _s: None)

    def sealed(method: str, url: str, **_k: Any) -> httpx.Response:
        calls.append(url)
        return httpx.Response(503, json={"errors": ["Vault is sealed"]})

    monkeypatch.setattr(httpx, "request", sealed)

    with pytest.raises(VaultApiError, match=r"after 3 attempts \(last: HTTP 503\)"):
        VaultKvSecretProvider().create(secret_props())
    assert len(calls) == vault_api.ATTEMPTS


def test_a_vault_that_answers_on_the_second_attempt_gets_the_write(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("components.providers.vault_api.time.sleep", lambda _s: None)
    answers = iter([httpx.Response(503)])

    def flaky(method: str, url: str, **kw: Any) -> httpx.Response:
        return next(answers, None) or vault.request(method, url, **kw)

    monkeypatch.setattr(httpx, "request", flaky)

    VaultKvSecretProvider().create(secret_props())

    assert vault.kv["platform/coder/coder-cli-session-token"] == {"token": SECRET}
