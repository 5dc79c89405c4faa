"""The few Kubernetes API calls the restore drill makes, behind a protocol tests can fake.

In-cluster the drill runs as its own service account (``RestoreDrill`` grants it the scratch
Cluster and its Secret in the scratch namespace, and pod reads in the database namespace);
requests go to ``KUBERNETES_SERVICE_HOST`` with the projected token, re-read per request because
the kubelet rotates it. Errors carry the HTTP status and the API's own reason, never a response
body: the Secret the drill creates comes back with its password in it.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

from automation.observe.kube_endpoint import SERVICE_ACCOUNT_DIR, discover

CNPG = "/apis/postgresql.cnpg.io/v1"


class DrillError(Exception):
    """Something the drill could not do; the message names the object and what to check."""


class KubeApiError(DrillError):
    def __init__(self, method: str, path: str, status: int, reason: str) -> None:
        hint = " (the drill's Role lacks this right: redeploy the stack)" if status == 403 else ""
        super().__init__(f"{method} {path} answered {status} {reason}{hint}")
        self.status = status


class KubeApi(Protocol):
    def get(self, path: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist."""
        ...

    def create(self, path: str, body: Mapping[str, Any]) -> None: ...

    def delete(self, path: str) -> bool:
        """True when a delete was accepted, False when there was nothing to delete."""
        ...

    def list(self, path: str, label_selector: str) -> list[dict[str, Any]]: ...


def cluster_path(namespace: str, name: str | None = None) -> str:
    base = f"{CNPG}/namespaces/{namespace}/clusters"
    return f"{base}/{name}" if name else base


def secret_path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{namespace}/secrets"
    return f"{base}/{name}" if name else base


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


class InClusterKubeApi:
    """``KubeApi`` over httpx with the pod's service account."""

    def __init__(
        self,
        environ: Mapping[str, str],
        service_account_dir: Path = SERVICE_ACCOUNT_DIR,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        endpoint = discover(environ, service_account_dir=service_account_dir)
        if endpoint is None or endpoint.source != "in-cluster":
            raise DrillError(
                "the restore drill runs in-cluster only: KUBERNETES_SERVICE_HOST/PORT and the "
                f"service account in {service_account_dir} are missing"
            )
        self._token_file = service_account_dir / "token"
        verify: ssl.SSLContext | bool = endpoint.verify
        self._client = httpx.Client(
            base_url=endpoint.server, verify=verify, timeout=30.0, transport=transport
        )

    def __repr__(self) -> str:
        return f"InClusterKubeApi({self._client.base_url})"

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            token = self._token_file.read_text(encoding="utf-8").strip()
            return self._client.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
        except (OSError, httpx.HTTPError) as error:
            raise DrillError(
                f"{method} {path} did not reach the Kubernetes API ({type(error).__name__})"
            ) from None

    def _fail(self, method: str, path: str, response: httpx.Response) -> KubeApiError:
        try:
            document = response.json()
        except ValueError:
            document = {}
        reason = document.get("reason") if isinstance(document, dict) else None
        return KubeApiError(
            method, path, response.status_code, str(reason or response.reason_phrase)
        )

    def get(self, path: str) -> dict[str, Any] | None:
        response = self._request("GET", path)
        if response.status_code == 404:
            return None
        if response.is_error:
            raise self._fail("GET", path, response)
        document: dict[str, Any] = response.json()
        return document

    def create(self, path: str, body: Mapping[str, Any]) -> None:
        # The answer is not read: for the Secret it holds the password.
        response = self._request("POST", path, json=dict(body))
        if response.is_error:
            raise self._fail("POST", path, response)

    def delete(self, path: str) -> bool:
        response = self._request("DELETE", path, json={"propagationPolicy": "Background"})
        if response.status_code == 404:
            return False
        if response.is_error:
            raise self._fail("DELETE", path, response)
        return True

    def list(self, path: str, label_selector: str) -> list[dict[str, Any]]:
        response = self._request("GET", path, params={"labelSelector": label_selector})
        if response.is_error:
            raise self._fail("GET", path, response)
        items = response.json().get("items") or []
        return [item for item in items if isinstance(item, dict)]
