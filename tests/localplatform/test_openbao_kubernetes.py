"""OpenBao's Kubernetes auth for the node stack's reconciler (``localplatform.openbao_kubernetes``):
the mount pointed at the node's API server with a reviewer of its own, and the role bound to the
reconciler's service account with the policy the program writes. (The real OpenBao and API server
take it in the node tier: tests/node/test_node_stack.py logs in as the reconciler.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from coder_platform.config import read_stack_file
from coder_platform.contracts import RECONCILER_SERVICE_ACCOUNT
from localplatform.binaries import ROOT
from localplatform.openbao_kubernetes import (
    REVIEWER,
    REVIEWER_NAMESPACE,
    ApiServer,
    ReconcilerLogin,
    configure,
    reviewer_token,
)
from localplatform.token_request import TokenRequestError

API = ApiServer("https://10.1.2.3:6443", "-----BEGIN CERTIFICATE-----\n...")
LOGIN = ReconcilerLogin("kubernetes", "coder-reconciler", "coder-reconciler", "coder-reconciler")


class FakeOpenBao:
    def __init__(self, auths: dict[str, Any]) -> None:
        self.auths = auths
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls.append((method, path, body))
        return {"data": self.auths} if path == "sys/auth" else {}


def test_configure_points_the_mount_at_the_api_server_and_binds_the_role_when_mount_exists() -> (
    None
):
    openbao = FakeOpenBao({"kubernetes/": {"type": "kubernetes"}})

    configure(openbao, API, "reviewer-jwt", LOGIN)

    writes = {path: body for method, path, body in openbao.calls if method == "POST"}
    assert writes == {
        "auth/kubernetes/config": {
            "kubernetes_host": API.url,
            "kubernetes_ca_cert": API.ca_pem,
            "token_reviewer_jwt": "reviewer-jwt",
            "disable_local_ca_jwt": True,
        },
        "auth/kubernetes/role/coder-reconciler": {
            "bound_service_account_names": ["coder-reconciler"],
            "bound_service_account_namespaces": ["coder-reconciler"],
            "token_policies": ["coder-reconciler"],
            "token_ttl": 3600,
        },
    }


def test_configure_enables_the_stacks_auth_mount_first_when_openbao_has_none_there() -> None:
    openbao = FakeOpenBao({"kubernetes/": {"type": "kubernetes"}})
    login = ReconcilerLogin("kubernetes-node", "runner", "coder-reconciler", "ops")

    configure(openbao, API, "reviewer-jwt", login)

    posts = [(path, body or {}) for method, path, body in openbao.calls if method == "POST"]
    assert posts[0] == ("sys/auth/kubernetes-node", {"type": "kubernetes"})
    assert [path for path, _ in posts[1:]] == [
        "auth/kubernetes-node/config",
        "auth/kubernetes-node/role/runner",
    ]
    assert posts[2][1]["bound_service_account_namespaces"] == ["ops"]
    assert posts[2][1]["token_policies"] == ["runner"]


def test_the_login_is_the_node_stacks_vault_settings_and_reconciler_identity() -> None:
    config = read_stack_file(ROOT / "stacks" / "Pulumi.node.yaml")

    login = ReconcilerLogin.of(config)

    assert login.mount == config.vault.kubernetes_auth_path
    assert login.role == config.vault.reconciler_role
    assert login.service_account == RECONCILER_SERVICE_ACCOUNT
    expected = config.reconciler.namespace if config.reconciler else "coder-reconciler"
    assert login.namespace == expected


def test_the_api_server_is_the_kubeconfigs_server_and_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("PEM")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "clusters": [
                    {
                        "cluster": {
                            "server": "https://10.1.2.3:6443",
                            "certificate-authority": str(ca),
                        }
                    }
                ]
            }
        )
    )

    assert ApiServer.from_kubeconfig(kubeconfig) == ApiServer("https://10.1.2.3:6443", "PEM")


def _api(token_status: int) -> tuple[httpx.Client, list[tuple[str, str, Any]]]:
    seen: list[tuple[str, str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen.append((request.method, path, request.content.decode()))
        if request.method == "GET":  # discovery
            kind = "ServiceAccount" if path == "/api/v1" else "ClusterRoleBinding"
            plural = "serviceaccounts" if path == "/api/v1" else "clusterrolebindings"
            return httpx.Response(
                200,
                json={
                    "resources": [
                        {"kind": kind, "name": plural, "namespaced": kind == "ServiceAccount"}
                    ]
                },
            )
        if path.endswith("/token") and token_status == 201:
            return httpx.Response(201, json={"status": {"token": "reviewer-jwt"}})
        if path.endswith("/token"):
            return httpx.Response(token_status, json={"kind": "Status", "reason": "Forbidden"})
        return httpx.Response(200, json={})

    return httpx.Client(base_url="https://api", transport=httpx.MockTransport(handle)), seen


def test_the_reviewer_is_applied_bound_to_auth_delegator_before_its_token_is_requested() -> None:
    client, seen = _api(201)

    assert reviewer_token(client) == "reviewer-jwt"

    writes = [(method, path) for method, path, _ in seen if method != "GET"]
    assert writes == [
        ("PATCH", f"/api/v1/namespaces/{REVIEWER_NAMESPACE}/serviceaccounts/{REVIEWER}"),
        ("PATCH", f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{REVIEWER}"),
        ("POST", f"/api/v1/namespaces/{REVIEWER_NAMESPACE}/serviceaccounts/{REVIEWER}/token"),
    ]
    binding = next(body for method, path, body in seen if path.endswith(f"bindings/{REVIEWER}"))
    assert "system:auth-delegator" in binding
    request = json.loads(seen[-1][2])
    assert request["spec"]["expirationSeconds"] > 0


def test_a_refused_token_request_fails_naming_the_reviewer_without_a_token() -> None:
    client, _ = _api(403)

    with pytest.raises(TokenRequestError, match=f"{REVIEWER_NAMESPACE}/{REVIEWER}: 403") as error:
        reviewer_token(client)
    assert "Forbidden" in str(error.value)
