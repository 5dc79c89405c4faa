"""OpenBao with a node: a second listener on the node's address (pods reach it) and an OIDC
issuer named by that address, so the host's Coder and a pod's are given one issuer URL; without
a node, loopback only and the issuer OpenBao defaults to. (The real server takes this config and
issuer in the node tier, tests/node.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from localplatform.openbao import OIDC_CLIENT, OIDC_PROVIDER, LocalOpenBao

PORT = 18200
NODE = "10.1.2.3"
PROVIDER = f"identity/oidc/provider/{OIDC_PROVIDER}"


def test_config_listens_on_the_node_address_too_when_the_platform_runs_a_node(
    tmp_path: Path,
) -> None:
    config = LocalOpenBao(tmp_path, Path("/bao"), PORT, NODE)._config().read_text()
    assert f'address = "127.0.0.1:{PORT}"' in config
    assert f'address = "{NODE}:{PORT}"' in config
    # The cluster port stays on loopback: only the API is for pods.
    assert config.count("cluster_address") == 1
    assert f'cluster_address = "127.0.0.1:{PORT + 1}"' in config


def test_config_listens_on_loopback_only_when_there_is_no_node(tmp_path: Path) -> None:
    config = LocalOpenBao(tmp_path, Path("/bao"), PORT)._config().read_text()
    assert config.count('listener "tcp"') == 1
    assert NODE not in config


class FakeProvider:
    """OpenBao's OIDC client and provider endpoints, keeping the issuer as OpenBao does
    (the default is api_addr; a POST with ``issuer`` replaces its scheme://host:port)."""

    def __init__(self, issuer_base: str) -> None:
        self.issuer_base = issuer_base
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        path = url.split("/v1/", 1)[1]
        body = kwargs.get("json") or {}
        if method == "POST":
            self.posts.append((path, body))
            if path == PROVIDER and "issuer" in body:
                self.issuer_base = body["issuer"]
            return httpx.Response(204)
        if path == f"identity/oidc/client/{OIDC_CLIENT}":
            return httpx.Response(200, json={"data": {"client_id": "id", "client_secret": "s"}})
        assert path == PROVIDER, path
        issuer = f"{self.issuer_base}/v1/{PROVIDER}"
        return httpx.Response(200, json={"data": {"issuer": issuer}})


@pytest.fixture
def bao(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalOpenBao:
    monkeypatch.setattr(LocalOpenBao, "root_token", lambda self: "root")
    return LocalOpenBao(tmp_path, Path("/bao"), PORT, NODE)


def test_the_issuer_is_named_by_the_node_address_when_the_platform_runs_a_node(
    bao: LocalOpenBao, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeProvider(f"http://127.0.0.1:{PORT}")
    monkeypatch.setattr(httpx, "request", fake.request)
    client = bao.oidc_client("http://127.0.0.1:17080")
    assert client.issuer_url == f"http://{NODE}:{PORT}/v1/{PROVIDER}"
    assert (PROVIDER, {"issuer": f"http://{NODE}:{PORT}"}) in fake.posts


def test_the_issuer_goes_back_to_loopback_when_the_node_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalOpenBao, "root_token", lambda self: "root")
    fake = FakeProvider(f"http://{NODE}:{PORT}")
    monkeypatch.setattr(httpx, "request", fake.request)
    client = LocalOpenBao(tmp_path, Path("/bao"), PORT).oidc_client("http://127.0.0.1:17080")
    assert client.issuer_url == f"http://127.0.0.1:{PORT}/v1/{PROVIDER}"


def test_the_issuer_is_not_rewritten_when_it_is_already_right(
    bao: LocalOpenBao, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeProvider(f"http://{NODE}:{PORT}")
    monkeypatch.setattr(httpx, "request", fake.request)
    bao.oidc_client("http://127.0.0.1:17080")
    assert [path for path, _ in fake.posts] == [f"identity/oidc/client/{OIDC_CLIENT}"]


def test_the_client_redirects_to_each_coder_given_when_a_stack_deploys_one(
    bao: LocalOpenBao, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeProvider(f"http://{NODE}:{PORT}")
    monkeypatch.setattr(httpx, "request", fake.request)
    bao.oidc_client("http://127.0.0.1:17080", "http://127.0.0.1:30080", "http://127.0.0.1:17080")
    [(_, body)] = [(p, b) for p, b in fake.posts if p == f"identity/oidc/client/{OIDC_CLIENT}"]
    assert body["redirect_uris"] == [
        "http://127.0.0.1:17080/api/v2/users/oidc/callback",
        "http://127.0.0.1:30080/api/v2/users/oidc/callback",
    ]
