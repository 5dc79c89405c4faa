"""CoderDeployment: Coder from its pinned Helm chart, on the CNPG database, behind OIDC.

Every secret reaches the pod through a ``secretKeyRef`` (contract C5: secrets come from the
secrets pipeline, never from Helm values), and Coder starts only once its database exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import PART_OF, ComponentType
from coder_platform.managed_kinds import CODER_CHART
from coder_platform.specs.pod_security import pod_security
from coder_platform.specs.postgres_tls import CA_KEY, CA_MOUNT_DIR
from components.resource_options import prerequisites

OIDC_SECRET = "coder-oidc"
OIDC_SECRET_KEY = "client-secret"
DB_URI_KEY = "uri"
# Coder's copy of the database server's CA (a Secret cannot be mounted across namespaces); the
# URI's sslrootcert names the file it mounts at CA_MOUNT_DIR.
DB_CA_SECRET = "database-ca"
DB_CA_VOLUME = "db-ca"
# The root filesystem is read-only (securityContext below), and `coder server` fails at start
# unless it can create its cache directory ("create cache directory", cli/server.go at 2.36;
# the default is $HOME/.cache/coder), where its built-in provisioners also unpack templates and
# keep Terraform's plugin cache. Both that and /tmp are emptyDirs.
CACHE_VOLUME = "cache"
CACHE_DIR = "/var/cache/coder"
TMP_VOLUME = "tmp"

# What the reference deployment needed for websockets/DERP through ingress-nginx.
WEBSOCKET_ANNOTATIONS = {
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-body-size": "0",
}


@dataclass(frozen=True)
class CoderIngress:
    enabled: bool
    class_name: str
    tls_secret_name: str
    wildcard_tls_secret_name: str
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CoderDeploymentArgs:
    namespace: str
    chart_version: str
    chart_repository: str
    access_url: str
    wildcard_access_url: str | None
    replicas: int
    resources: dict[str, dict[str, str]]
    service_type: str
    ingress: CoderIngress
    oidc_issuer_url: str
    oidc_client_id: str
    oidc_email_domain: str | None
    oidc_allow_signups: bool
    sso_only: bool
    max_token_lifetime: str
    max_admin_token_lifetime: str
    database_secret_name: str
    database_uri: pulumi.Input[str]
    database_ca: pulumi.Input[str]
    oidc_client_secret: pulumi.Input[str]
    # A local copy of the chart (absolute path) instead of chart_repository: local stacks only.
    chart_path: str | None = None
    http_node_port: int | None = None


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def coder_env(args: CoderDeploymentArgs) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "CODER_ACCESS_URL", "value": args.access_url},
        _secret_env("CODER_PG_CONNECTION_URL", args.database_secret_name, DB_URI_KEY),
        {"name": "CODER_OIDC_ISSUER_URL", "value": args.oidc_issuer_url},
        {"name": "CODER_OIDC_CLIENT_ID", "value": args.oidc_client_id},
        _secret_env("CODER_OIDC_CLIENT_SECRET", OIDC_SECRET, OIDC_SECRET_KEY),
        {"name": "CODER_OIDC_ALLOW_SIGNUPS", "value": str(args.oidc_allow_signups).lower()},
        # Owners keep password login even when it is disabled: that is the automation identity.
        {"name": "CODER_DISABLE_PASSWORD_AUTH", "value": str(args.sso_only).lower()},
        # The incident's token died at the 168h admin default: the caps come from config.
        {"name": "CODER_MAX_TOKEN_LIFETIME", "value": args.max_token_lifetime},
        {"name": "CODER_MAX_ADMIN_TOKEN_LIFETIME", "value": args.max_admin_token_lifetime},
        {"name": "CODER_PROMETHEUS_ENABLE", "value": "true"},
        {"name": "CODER_CACHE_DIRECTORY", "value": CACHE_DIR},
    ]
    if args.wildcard_access_url:
        env.append({"name": "CODER_WILDCARD_ACCESS_URL", "value": args.wildcard_access_url})
    if args.oidc_email_domain:
        env.append({"name": "CODER_OIDC_EMAIL_DOMAIN", "value": args.oidc_email_domain})
    return env


def coder_values(args: CoderDeploymentArgs) -> dict[str, Any]:
    """Helm values for the ``coder`` chart; no secret value ever appears here."""
    host = urlparse(args.access_url).hostname or ""
    values: dict[str, Any] = {
        "coder": {
            "env": coder_env(args),
            "envUseClusterAccessURL": False,
            "replicaCount": args.replicas,
            "resources": args.resources,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            # The chart's coder.volumes/coder.volumeMounts (helm/coder values.yaml): the database
            # CA the URI's sslrootcert points at, read-only.
            "volumes": [
                {"name": DB_CA_VOLUME, "secret": {"secretName": DB_CA_SECRET}},
                {"name": CACHE_VOLUME, "emptyDir": {}},
                {"name": TMP_VOLUME, "emptyDir": {}},
            ],
            "volumeMounts": [
                {"name": DB_CA_VOLUME, "mountPath": CA_MOUNT_DIR, "readOnly": True},
                {"name": CACHE_VOLUME, "mountPath": CACHE_DIR},
                {"name": TMP_VOLUME, "mountPath": "/tmp"},
            ],
            "readinessProbe": {"enabled": True},
            "livenessProbe": {"enabled": True},
            "service": {"enable": True, "type": args.service_type},
        }
    }
    if args.http_node_port is not None:
        values["coder"]["service"]["httpNodePort"] = args.http_node_port
    if args.ingress.enabled:
        values["coder"]["ingress"] = {
            "enable": True,
            "className": args.ingress.class_name,
            "host": host,
            "wildcardHost": args.wildcard_access_url or "",
            "annotations": {**WEBSOCKET_ANNOTATIONS, **args.ingress.annotations},
            "tls": {
                "enable": True,
                "secretName": args.ingress.tls_secret_name,
                "wildcardSecretName": args.ingress.wildcard_tls_secret_name,
            },
        }
    return values


class CoderDeployment(pulumi.ComponentResource):
    """Namespace, the secrets Coder reads, and the pinned Helm release."""

    namespace: k8s.core.v1.Namespace
    database_secret: k8s.core.v1.Secret
    database_ca_secret: k8s.core.v1.Secret
    oidc_secret: k8s.core.v1.Secret
    release: k8s.helm.v3.Release
    access_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ComponentType.CODER, name, None, opts)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace, labels={**PART_OF, **pod_security("baseline")}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        # secretKeyRef cannot cross namespaces, so the database credentials are mirrored here
        # under the CNPG app secret's name, from the same Pulumi-owned password.
        self.database_secret = k8s.core.v1.Secret(
            f"{name}-db-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.database_secret_name, namespace=args.namespace
            ),
            string_data={DB_URI_KEY: pulumi.Output.secret(args.database_uri)},
            opts=in_ns,
        )
        # Not a subPath mount: the kubelet refreshes the file when a run copies a renewed CA.
        self.database_ca_secret = k8s.core.v1.Secret(
            f"{name}-db-ca-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=DB_CA_SECRET, namespace=args.namespace),
            string_data={CA_KEY: args.database_ca},
            opts=in_ns,
        )
        self.oidc_secret = k8s.core.v1.Secret(
            f"{name}-oidc-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=OIDC_SECRET, namespace=args.namespace),
            string_data={OIDC_SECRET_KEY: pulumi.Output.secret(args.oidc_client_secret)},
            opts=in_ns,
        )
        # A local chart's version is in its own Chart.yaml (Helm ignores a version for a path).
        source: dict[str, Any] = (
            {"chart": args.chart_path}
            if args.chart_path is not None
            else {
                "chart": CODER_CHART,
                "version": args.chart_version,
                "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=args.chart_repository),
            }
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name="coder",
            **source,
            namespace=args.namespace,
            values=coder_values(args),
            atomic=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    self.database_secret,
                    self.database_ca_secret,
                    self.oidc_secret,
                    *prerequisites(opts),
                ],
            ),
        )
        self.access_url = self.release.status.apply(lambda _: args.access_url)
        self.register_outputs({"access_url": self.access_url})
