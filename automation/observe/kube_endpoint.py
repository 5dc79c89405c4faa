"""Find the Kubernetes API the engine will talk to, for the observe phase's reachability probe.

In-cluster (the CronJob) the API is ``KUBERNETES_SERVICE_HOST``/``PORT`` with the service
account's CA; elsewhere it is the current (or the stack's ``kubernetes:context``) context of the
kubeconfig the Kubernetes provider also reads. Only the server URL and CA are used: the probe
asserts reachability, the engine asserts credentials.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class KubeEndpoint:
    server: str
    verify: ssl.SSLContext | bool
    source: str


def in_cluster(environ: Mapping[str, str], service_account_dir: Path | None = None) -> bool:
    """The run is a pod's (the CronJob's): the API server's Service in the environment and the
    service account's CA mounted, as ``discover`` reads them."""
    account = SERVICE_ACCOUNT_DIR if service_account_dir is None else service_account_dir
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    return bool(host and port and (account / "ca.crt").exists())


def discover(
    environ: Mapping[str, str],
    context: str | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
    home: Path | None = None,
) -> KubeEndpoint | None:
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    ca_file = service_account_dir / "ca.crt"
    if host and port and ca_file.exists():
        server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        return KubeEndpoint(server, ssl.create_default_context(cafile=str(ca_file)), "in-cluster")
    paths = environ.get("KUBECONFIG", "").split(":") if environ.get("KUBECONFIG") else []
    paths = [p for p in paths if p] or [str((home or Path.home()) / ".kube" / "config")]
    for path in paths:
        endpoint = _from_kubeconfig(Path(path), context)
        if endpoint is not None:
            return endpoint
    return None


def _from_kubeconfig(path: Path, context: str | None) -> KubeEndpoint | None:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(document, dict):
        return None
    wanted = context or document.get("current-context")
    ctx = _named(document.get("contexts"), wanted).get("context") or {}
    cluster = _named(document.get("clusters"), ctx.get("cluster")).get("cluster") or {}
    server = cluster.get("server")
    if not isinstance(server, str):
        return None
    return KubeEndpoint(server.rstrip("/"), _verify(cluster), f"kubeconfig {path} ({wanted})")


def _verify(cluster: dict[str, Any]) -> ssl.SSLContext | bool:
    """The cluster's CA; an unreadable CA falls back to system roots (the probe then says why)."""
    if cluster.get("insecure-skip-tls-verify"):
        return False
    try:
        if cluster.get("certificate-authority-data"):
            pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
            return ssl.create_default_context(cadata=pem)
        if cluster.get("certificate-authority"):
            return ssl.create_default_context(cafile=str(cluster["certificate-authority"]))
    except (OSError, ssl.SSLError, ValueError):
        return True
    return True


def _named(items: Any, name: Any) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return {}
