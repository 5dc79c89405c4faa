"""A service account's token from the Kubernetes TokenRequest API (``serviceaccounts/<name>/
token``): bounded, audience-bound to the API server, never stored by Kubernetes. The node's API
server runs no legacy token controller, so no ``kubernetes.io/service-account-token`` Secret is
ever filled in."""

from __future__ import annotations

import httpx


class TokenRequestError(RuntimeError):
    """The API server refused the request; the message names the account (never a token)."""


def service_account_token(
    client: httpx.Client, namespace: str, name: str, seconds: int | None = None
) -> str:
    spec = {} if seconds is None else {"expirationSeconds": seconds}
    response = client.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
    )
    if response.status_code != 201:
        raise TokenRequestError(
            f"a token for {namespace}/{name}: {response.status_code} {response.text[:300]}"
        )
    return str(response.json()["status"]["token"])
