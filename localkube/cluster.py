"""A real Kubernetes API server on loopback: etcd, kube-apiserver and the two controllers that
finish deletes (garbage collector, namespace controller), all from the project toolchain.

No nodes: objects are stored, validated and served exactly as a cluster would, which is what
Pulumi deploys and refreshes. Without kube-controller-manager a foreground delete (what
pulumi-kubernetes sends on a replace) never completes: the object keeps its
``foregroundDeletion`` finalizer forever, and a deleted namespace stays Terminating. CRDs for
CNPG and the Barman Cloud plugin come from the pinned modules in the Go module cache, never
from files vendored into the repo.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from localkube.pki import ClusterPki, generate

# The node's kubelet signs in as this Node (the Node authorizer lets it read only its own pods'
# secrets and write only its own Node); localplatform.node names the node the same.
NODE_NAME = "localplatform"

CRD_FILES = {
    "github.com/cloudnative-pg/cloudnative-pg": [
        "config/crd/bases/postgresql.cnpg.io_clusters.yaml",
        "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml",
        "config/crd/bases/postgresql.cnpg.io_backups.yaml",
    ],
    "github.com/cloudnative-pg/plugin-barman-cloud": [
        "config/crd/bases/barmancloud.cnpg.io_objectstores.yaml",
    ],
}


ROOT = Path(__file__).resolve().parents[1]


def pinned_crd_versions(root: Path = ROOT) -> dict[str, str]:
    """The CNPG and Barman Cloud module versions whose CRDs are applied (tools/crd-versions.env)."""
    pins = dict(
        line.split("=", 1)
        for line in (root / "tools" / "crd-versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return {
        "github.com/cloudnative-pg/cloudnative-pg": pins["CNPG_VERSION"],
        "github.com/cloudnative-pg/plugin-barman-cloud": pins["BARMAN_CLOUD_PLUGIN_VERSION"],
    }


class ClusterStartError(RuntimeError):
    """The local API server did not come up; the message carries the tail of its log."""


@dataclass(frozen=True)
class LocalCluster:
    server: str
    token: str = field(repr=False)  # an admin bearer token: never in a repr or log
    ca_file: Path
    kubeconfig: Path

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            timeout=10.0,
        )

    def get(self, path: str) -> dict[str, Any] | None:
        with self.client() as client:
            response = client.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def delete(self, path: str) -> None:
        with self.client() as client:
            client.delete(path).raise_for_status()

    def merge_patch(self, path: str, patch: dict[str, Any]) -> None:
        with self.client() as client:
            client.patch(
                path,
                content=json.dumps(patch),
                headers={"Content-Type": "application/merge-patch+json"},
            ).raise_for_status()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait(
    check: Any, what: str, log: Path, process: subprocess.Popen[bytes], seconds: float
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClusterStartError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise ClusterStartError(f"{what} was not ready after {seconds:.0f}s:\n{_tail(log)}")


def module_dir(module: str, version: str, env: dict[str, str]) -> Path:
    """The module's directory in the Go module cache (downloaded from the proxy if needed)."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise ClusterStartError(
            f"cannot fetch {module}@{version} for its CRDs: {info.get('Error', out.stderr)}"
        )
    return Path(info["Dir"])


def apply_crds(cluster: LocalCluster, versions: dict[str, str], env: dict[str, str]) -> None:
    with cluster.client() as client:
        for module, files in CRD_FILES.items():
            root = module_dir(module, versions[module], env)
            for relative in files:
                crd = yaml.safe_load((root / relative).read_text())
                response = client.post(
                    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd
                )
                if response.status_code not in (201, 409):
                    raise ClusterStartError(f"applying {relative}: {response.text[:500]}")
                _wait_established(client, crd["metadata"]["name"])


def _wait_established(client: httpx.Client, name: str) -> None:
    deadline = time.monotonic() + 30
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
    while time.monotonic() < deadline:
        conditions = (client.get(path).json().get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise ClusterStartError(f"CRD {name} was not established within 30s")


def write_kubeconfig(path: Path, server: str, ca_file: Path, token: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority": str(ca_file)}}
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


# Only what deletes need: the garbage collector removes dependents and the foregroundDeletion
# finalizer; the namespace controller empties and removes a Terminating namespace.
CONTROLLERS = ("garbage-collector-controller", "namespace-controller")
# With a node, what pods need too: a default ServiceAccount and the kube-root-ca.crt ConfigMap in
# every namespace (a pod's projected token volume needs both), EndpointSlices for kube-proxy and
# CoreDNS, the workload controllers the operators' manifests use, the PV binder (a PVC binds to
# what a provisioner made), and node-lifecycle (without it the node keeps the not-ready taint
# it registers with). Pod GC removes the pods of a deleted node. The PVC and PV protection
# controllers remove the ``kubernetes.io/pvc-protection`` and ``pv-protection`` finalizers the API
# server's StorageObjectInUseProtection admission adds: without them a deleted namespace with a
# database volume stays Terminating for ever (found by the incident drill) and no Retain volume is
# ever Released.
NODE_CONTROLLERS = (
    *CONTROLLERS,
    "serviceaccount-controller",
    "root-ca-certificate-publisher-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "replicaset-controller",
    "deployment-controller",
    "statefulset-controller",
    "job-controller",
    "cronjob-controller",
    "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "node-lifecycle-controller",
    "pod-garbage-collector-controller",
    "disruption-controller",
)


def start_controller_manager(
    workdir: Path,
    bin_dir: Path,
    kubeconfig: Path,
    seconds: float = 60,
    pki: ClusterPki | None = None,
) -> subprocess.Popen[bytes]:
    """kube-controller-manager with the delete controllers (and, given the cluster's ``pki`` when
    a node runs, the controllers pods need), ready when its /healthz answers."""
    port = free_port()
    log = workdir / "kube-controller-manager.log"
    node_args = []
    if pki is not None:
        node_args = [
            f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.sa_private}",
        ]
    process = subprocess.Popen(
        [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--controllers={','.join(NODE_CONTROLLERS if pki else CONTROLLERS)}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={workdir / 'controller-manager-certs'}",
            *node_args,
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        # /healthz is on the always-allowed paths; the serving certificate is self-signed.
        _wait(
            lambda: (
                httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=2).status_code
                == 200
            ),
            "kube-controller-manager",
            log,
            process,
            seconds,
        )
    except ClusterStartError:
        process.kill()
        raise
    return process


def start_etcd(workdir: Path, bin_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """etcd on free loopback ports, healthy; returns the process and its client port."""
    etcd_port, peer_port = free_port(), free_port()
    etcd_log = workdir / "etcd.log"
    etcd = subprocess.Popen(
        [
            str(bin_dir / "etcd"),
            "--name=local",
            f"--data-dir={workdir / 'etcd-data'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=local=http://127.0.0.1:{peer_port}",
            "--log-level=warn",
        ],
        stdout=etcd_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(
            lambda: httpx.get(f"http://127.0.0.1:{etcd_port}/health", timeout=1).status_code == 200,
            "etcd",
            etcd_log,
            etcd,
            30,
        )
    except ClusterStartError:
        etcd.kill()
        raise
    return etcd, etcd_port


def _api_server_args(node_ip: str | None, pki: ClusterPki) -> list[str]:
    """Loopback only, or (with a node) bound where pods reach it through the ``kubernetes``
    Service: its address advertised, so the default endpoint reconciler points the Service at
    it, and the Node authorizer for the kubelet."""
    if node_ip is None:
        return [
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            "--authorization-mode=RBAC",
        ]
    return [
        f"--bind-address={node_ip}",
        f"--advertise-address={node_ip}",
        "--authorization-mode=Node,RBAC",
        f"--kubelet-client-certificate={pki.kubelet_client_cert}",
        f"--kubelet-client-key={pki.kubelet_client_key}",
        # The node's name is not in DNS: logs and exec go to its address.
        "--kubelet-preferred-address-types=InternalIP",
    ]


def start_api_server(
    workdir: Path, bin_dir: Path, pki: ClusterPki, etcd_port: int, node_ip: str | None = None
) -> tuple[subprocess.Popen[bytes], LocalCluster]:
    """kube-apiserver with token auth and RBAC, ready; returns the process and the cluster.
    With ``node_ip`` it serves there, and ``kubelet.kubeconfig`` signs the node's kubelet in."""
    token = secrets.token_hex(24)
    kubelet_token = secrets.token_hex(24)
    tokens = workdir / "tokens.csv"
    lines = [f"{token},admin,admin,system:masters"]
    if node_ip is not None:
        lines.append(f"{kubelet_token},system:node:{NODE_NAME},{NODE_NAME},system:nodes")
    tokens.write_text("\n".join(lines) + "\n")
    tokens.chmod(0o600)
    api_port, api_log = free_port(), workdir / "kube-apiserver.log"
    api = subprocess.Popen(
        [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            *_api_server_args(node_ip, pki),
            f"--secure-port={api_port}",
            f"--tls-cert-file={pki.server_cert}",
            f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={tokens}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            "--service-cluster-ip-range=10.0.0.0/24",
        ],
        stdout=api_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = f"https://{node_ip or '127.0.0.1'}:{api_port}"
    cluster = LocalCluster(server, token, pki.ca_cert, workdir / "kubeconfig")
    try:
        _wait(
            lambda: (
                httpx.get(
                    f"{server}/readyz",
                    headers={"Authorization": f"Bearer {token}"},
                    verify=ssl.create_default_context(cafile=str(pki.ca_cert)),
                    timeout=2,
                ).status_code
                == 200
            ),
            "kube-apiserver",
            api_log,
            api,
            90,
        )
    except ClusterStartError:
        api.kill()
        raise
    if node_ip is not None:
        write_kubeconfig(workdir / "kubelet.kubeconfig", server, pki.ca_cert, kubelet_token)
    return api, cluster


@contextmanager
def local_cluster(
    workdir: Path,
    bin_dir: Path,
    crd_versions: dict[str, str],
    env: dict[str, str] | None = None,
    node_ip: str | None = None,
) -> Iterator[LocalCluster]:
    """Start etcd, kube-apiserver and kube-controller-manager on free ports (loopback, or the
    API server on ``node_ip`` for a node, which also gets ``kubelet.kubeconfig``); stop and
    remove them after."""
    env = dict(env or os.environ)
    pki = generate(workdir / "pki", node_ip)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        etcd, etcd_port = start_etcd(workdir, bin_dir)
        processes.append(etcd)
        api, cluster = start_api_server(workdir, bin_dir, pki, etcd_port, node_ip)
        processes.append(api)
        write_kubeconfig(cluster.kubeconfig, cluster.server, pki.ca_cert, cluster.token)
        processes.append(
            start_controller_manager(
                workdir, bin_dir, cluster.kubeconfig, pki=pki if node_ip else None
            )
        )
        apply_crds(cluster, crd_versions, env)
        yield cluster
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir / "etcd-data", ignore_errors=True)
