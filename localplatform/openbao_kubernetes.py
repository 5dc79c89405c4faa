"""OpenBao's Kubernetes auth for the stack's reconciler on a node instance: the in-cluster
runner logs in to Vault with its service account's token (``automation.observe.dependencies``:
``auth/<vault.kubernetesAuthPath>/login`` as ``vault.reconcilerRole``).

In dev and prod the program itself manages that role (``components.vault``, with the
pulumi-vault plugin). The node stack writes to OpenBao with ``vault.provider: api``, which manages
the reconciler's policy (named after the role) but no auth mount, config or role, so the launcher
makes them here, as an admin would in front of a managed Vault:

- the auth mount's config names the node's API server (the kubeconfig's server and CA, reached
  from OpenBao on the host), with ``disable_local_ca_jwt`` (OpenBao runs outside the cluster);
- the TokenReviews that check a login are made with a reviewer's token: a service account of its
  own in ``kube-system`` bound to ``system:auth-delegator``. Without one OpenBao reviews with the
  caller's own token, which would need the reconciler to hold ``tokenreviews: create``, a
  cluster-wide grant its least-privilege RBAC does not give (``components/reconciler/rbac.py``);
- the role is bound by name to the reconciler's service account and namespace, and grants the
  policy the program writes (``components.vault``: the policy's name is the role's).

The reviewer's token comes from the TokenRequest API (the node's API server runs no legacy token
controller), bounded; ``up`` makes a new one whenever it (re)starts a part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

from coder_platform.config import PlatformConfig
from coder_platform.contracts import RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT
from localplatform import kubeapply
from localplatform.token_request import service_account_token

REVIEWER = "openbao-token-reviewer"
REVIEWER_NAMESPACE = "kube-system"
REVIEWER_TOKEN_SECONDS = 7 * 24 * 3600
# The token a login yields lives as long as the role in dev/prod says (components.vault).
LOGIN_TOKEN_TTL_SECONDS = 3600


class OpenBaoApi(Protocol):
    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ReconcilerLogin:
    """Where and as whom the stack's in-cluster runner logs in (from the stack's config)."""

    mount: str
    role: str
    service_account: str
    namespace: str

    @classmethod
    def of(cls, config: PlatformConfig) -> ReconcilerLogin:
        namespace = config.reconciler.namespace if config.reconciler else RECONCILER_NAMESPACE
        return cls(
            mount=config.vault.kubernetes_auth_path,
            role=config.vault.reconciler_role,
            service_account=RECONCILER_SERVICE_ACCOUNT,
            namespace=namespace,
        )


@dataclass(frozen=True)
class ApiServer:
    """The node's API server as OpenBao reaches it: the kubeconfig's server and CA."""

    url: str
    ca_pem: str

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path) -> ApiServer:
        cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
        return cls(cluster["server"], Path(cluster["certificate-authority"]).read_text())


def reviewer_objects() -> list[dict[str, Any]]:
    """The reviewer's service account and its one grant, TokenReviews (and SubjectAccessReviews)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": REVIEWER, "namespace": REVIEWER_NAMESPACE},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": REVIEWER},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": REVIEWER, "namespace": REVIEWER_NAMESPACE}
            ],
        },
    ]


def reviewer_token(client: httpx.Client) -> str:
    """Apply the reviewer and request a bounded token for it (never printed or stored)."""
    kubeapply.apply(client, reviewer_objects())
    return service_account_token(client, REVIEWER_NAMESPACE, REVIEWER, REVIEWER_TOKEN_SECONDS)


def configure(
    openbao: OpenBaoApi, api_server: ApiServer, reviewer_jwt: str, login: ReconcilerLogin
) -> None:
    """Enable the auth mount if missing, point it at the API server, write the role."""
    auths = openbao.request("GET", "sys/auth")
    if f"{login.mount}/" not in auths.get("data", auths):
        openbao.request("POST", f"sys/auth/{login.mount}", {"type": "kubernetes"})
    openbao.request(
        "POST",
        f"auth/{login.mount}/config",
        {
            "kubernetes_host": api_server.url,
            "kubernetes_ca_cert": api_server.ca_pem,
            "token_reviewer_jwt": reviewer_jwt,
            "disable_local_ca_jwt": True,
        },
    )
    openbao.request(
        "POST",
        f"auth/{login.mount}/role/{login.role}",
        {
            "bound_service_account_names": [login.service_account],
            "bound_service_account_namespaces": [login.namespace],
            "token_policies": [login.role],
            "token_ttl": LOGIN_TOKEN_TTL_SECONDS,
        },
    )
