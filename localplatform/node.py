"""The local platform's node: containerd, a kubelet, kube-proxy, kube-scheduler and CoreDNS on
this host, registered with the ``kube`` part's API server, so pods really run.

Every binary comes from ``scripts/install-node`` (Debian's containerd 1.6, runc and CNI plugins;
kubelet, kube-proxy and kube-scheduler from ``k8s.io/kubernetes`` at the API server's release;
CoreDNS); the images are built here and imported into containerd (no registry), the runner's
from the project's own Dockerfile (``localplatform.images.runner``). What it
took on a VM like this one (no CAP_SYS_RESOURCE, cgroup v1):

- containerd's CRI ``restrict_oom_score_adj = true``, or runc fails "can't get final child's PID
  from pipe" when it cannot raise a container's oom_score_adj;
- the kubelet's ``failCgroupV1: false`` (cgroup v1 is deprecated in 1.35+, an error unless
  allowed), cgroupfs as the cgroup driver;
- the API server bound on the host's address (``localkube --node-ip``), which pods reach through
  the ``kubernetes`` Service (10.0.0.1, in its certificate) and kube-proxy's rules.

CoreDNS runs on the host, bound to the node address, which is the kubelet's ``clusterDNS``;
so does Azurite, the backups' Azure Blob store (``localplatform.azurite``).
One node per host: the CNI bridge, the pod range and DNS on the node address are fixed. Stopping
deletes every pod through the API first (the kubelet tears down each sandbox and its network),
then stops the processes, removes what they left (kube-proxy's rules, the bridge, the pods'
cgroups, mounts under the node's directory) and restores the host sysctls they changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from localkube.cluster import NODE_NAME
from localplatform import azurite, node_addons
from localplatform.binaries import ROOT, installed_paths
from localplatform.daemon import Daemon, PartError
from localplatform.images import catalog, runner
from localplatform.images.archive import ImageSpec, write_archive
from localplatform.images.containerd import CRI_NAMESPACE, import_archive, imported
from localplatform.node_host import record, remove_kubelet_chains, restore

BRIDGE = "lpnode0"
POD_CIDR = "10.88.0.0/16"
CLUSTER_DOMAIN = "cluster.local"
# Started in this order, stopped in reverse.
DAEMONS = ("containerd", "kubelet", "kube-proxy", "kube-scheduler", "coredns", "azurite")


@dataclass(frozen=True)
class NodeBinaries:
    """Where ``scripts/install-node`` put each binary (it owns the cache layout)."""

    paths: dict[str, str]

    @classmethod
    def installed(cls, root: Path = ROOT) -> NodeBinaries:
        return cls(installed_paths(root, "install-node", "node: not installed", "builds it"))

    def __getitem__(self, name: str) -> Path:
        return Path(self.paths[name])


def default_node_ip() -> str:
    """The host's address on its default route (what the kubelet would call its InternalIP).

    A UDP ``connect`` sends nothing; it only asks the kernel which source address it would use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("203.0.113.1", 9))  # TEST-NET-3: routed by the default route only
        except OSError as error:
            raise PartError(
                f"node: no address besides loopback for pods to reach the host ({error})"
            ) from None
        address = str(sock.getsockname()[0])
    if address.startswith("127."):
        raise PartError("node: the default route leaves from loopback; no address for pods")
    return address


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kube_client(kubeconfig: Path) -> httpx.Client:
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    return httpx.Client(
        base_url=cluster["server"],
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=cluster["certificate-authority"]),
        timeout=10.0,
    )


def node_ready(kubeconfig: Path) -> bool:
    with kube_client(kubeconfig) as client:
        response = client.get(f"/api/v1/nodes/{NODE_NAME}")
    if response.status_code != 200:
        return False
    conditions = response.json().get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@dataclass(frozen=True)
class LocalNode:
    directory: Path
    kube_dir: Path
    node_ip: str
    installed: NodeBinaries | None = None  # default: what scripts/install-node reports
    # Images the platform makes of its own builds (Coder's), imported with the node's.
    platform_images: tuple[Callable[[], ImageSpec], ...] = ()
    # The project the runner image is built from (its stack files are the image's).
    project_root: Path = ROOT
    # Loopback-only directories for the runner image (images.runner.RunnerInputs.extras).
    runner_extras: tuple[tuple[str, Path], ...] = ()

    @property
    def binaries(self) -> NodeBinaries:
        return self.installed or NodeBinaries.installed()

    def daemon(self, name: str) -> Daemon:
        return Daemon(name, self.directory)

    @property
    def socket(self) -> Path:
        return self.directory / "containerd" / "containerd.sock"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.kube_dir / "kubeconfig"

    @property
    def sysctl_record(self) -> Path:
        return self.directory / "host-sysctls.json"

    def running(self) -> bool:
        return all(self.daemon(name).pid() is not None for name in DAEMONS)

    def any_running(self) -> bool:
        return any(self.daemon(name).pid() is not None for name in DAEMONS)

    # --- start ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.running():
            return
        binaries = self.binaries
        if os.geteuid() != 0:
            raise PartError("node: containerd and the kubelet need root")
        kubelet_kubeconfig = self.kube_dir / "kubelet.kubeconfig"
        if not kubelet_kubeconfig.exists():
            raise PartError(
                f"node: {kubelet_kubeconfig} is missing: the kube part must run with a node "
                "address (python -m localplatform down, then up --node)"
            )
        record(self.sysctl_record)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._start_containerd(binaries)
        self._import_images(binaries)
        self._start_kubelet(binaries, kubelet_kubeconfig)
        self._start_kube_proxy(binaries)
        self._start_scheduler(binaries)
        self._start_coredns(binaries)
        key = azurite.account_key(self.directory)
        azurite.start(self.daemon("azurite"), binaries["azurite_blob"], self.node_ip, key)
        azurite.create_container(binaries["barman_venv"], self.node_ip, key)
        with kube_client(self.admin_kubeconfig) as client:
            node_addons.install(
                client,
                {
                    "cnpg": binaries.paths["cnpg_version"],
                    "local_path": binaries.paths["local_path_provisioner_version"],
                    "barman_cloud_plugin": binaries.paths["barman_cloud_plugin_version"],
                },
                self.directory / "volumes",
            )

    @property
    def backup_store_connection_string(self) -> str:
        """How a client reaches the node's Azurite account (a secret: never log it)."""
        return azurite.connection_string(self.node_ip, azurite.account_key(self.directory))

    def _start_containerd(self, binaries: NodeBinaries) -> None:
        daemon = self.daemon("containerd")
        if daemon.pid() is not None:
            return
        base = self.directory / "containerd"
        cni_conf = self.directory / "cni" / "net.d"
        cni_conf.mkdir(parents=True, exist_ok=True)
        (cni_conf / "10-localplatform.conflist").write_text(json.dumps(self._cni_config()))
        config = base / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(self._containerd_config(binaries, cni_conf))
        self.socket.unlink(missing_ok=True)
        daemon.start([str(binaries["containerd"]), "--config", str(config)], os.environ)
        daemon.wait_until(self.socket.exists, "serving its socket", 30)

    def _containerd_config(self, binaries: NodeBinaries, cni_conf: Path) -> str:
        base = self.directory / "containerd"
        return f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"

[grpc]
  address = "{self.socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base / "opt"}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{catalog.PAUSE_IMAGE}"
  # No CAP_SYS_RESOURCE in this VM: runc must not raise oom_score_adj above containerd's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{binaries["runc"]}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{binaries["cni_bin_dir"]}"
    conf_dir = "{cni_conf}"
"""

    def _cni_config(self) -> dict[str, Any]:
        return {
            "cniVersion": "1.0.0",
            "name": "localplatform",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_CIDR}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.directory / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def _import_images(self, binaries: NodeBinaries) -> None:
        specs: list[Callable[[], ImageSpec]] = [
            lambda: catalog.pause(binaries["pause"]),
            lambda: catalog.cnpg_operator(binaries["cnpg_manager"], binaries.paths["cnpg_version"]),
            catalog.postgres,
            lambda: catalog.local_path_provisioner(
                binaries["local_path_provisioner"],
                binaries.paths["local_path_provisioner_version"],
            ),
            catalog.local_path_helper,
            lambda: catalog.barman_cloud_plugin(
                binaries["barman_cloud_plugin"], binaries.paths["barman_cloud_plugin_version"]
            ),
            lambda: catalog.barman_cloud_sidecar(
                binaries["barman_cloud_plugin"],
                binaries.paths["barman_cloud_plugin_version"],
                binaries["barman_venv"],
            ),
            lambda: runner.runner(
                runner.installed_inputs(
                    ROOT,
                    binaries["runner_venv"],
                    binaries["runner_policy_venv"],
                    self.project_root,
                    self.runner_extras,
                )
            ),
            *self.platform_images,
        ]
        for make in specs:
            spec = make()
            archive = self.directory / "images" / f"{spec.name.replace('/', '_')}.tar"
            image_id = write_archive(spec, archive)
            # Re-imported when what it is made of changed (a rebuilt binary, a Debian update).
            stamp = archive.with_suffix(".id")
            current = stamp.read_text() if stamp.exists() else None
            if current != image_id or not imported(binaries["ctr"], self.socket, spec.name):
                import_archive(binaries["ctr"], self.socket, archive)
                stamp.write_text(image_id)
            archive.unlink()

    def _start_kubelet(self, binaries: NodeBinaries, kubeconfig: Path) -> None:
        daemon = self.daemon("kubelet")
        if daemon.pid() is None:
            config = self.directory / "kubelet.yaml"
            config.write_text(yaml.safe_dump(self._kubelet_config()))
            daemon.start(
                [
                    str(binaries["kubelet"]),
                    f"--config={config}",
                    f"--kubeconfig={kubeconfig}",
                    f"--root-dir={self.directory / 'kubelet'}",
                    f"--cert-dir={self.directory / 'kubelet' / 'pki'}",
                    f"--hostname-override={NODE_NAME}",
                    f"--node-ip={self.node_ip}",
                ],
                os.environ,
            )
        daemon.wait_until(lambda: node_ready(self.admin_kubeconfig), "Ready", 120)

    def _kubelet_config(self) -> dict[str, Any]:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # cgroup v1 host: allowed explicitly (the kubelet refuses it otherwise since 1.35).
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "address": self.node_ip,
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            # Only the API server (its client certificate, signed by the cluster CA) may call
            # the kubelet, for logs and exec.
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(self.kube_dir / "pki" / "ca.crt")},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "clusterDNS": [self.node_ip],
            "clusterDomain": CLUSTER_DOMAIN,
            "failSwapOn": False,
            "registerWithTaints": [],
            # A shared development host: do not evict pods over its disk or memory use.
            "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%"},
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
        }

    def _start_kube_proxy(self, binaries: NodeBinaries) -> None:
        daemon = self.daemon("kube-proxy")
        if daemon.pid() is not None:
            return
        config = self.directory / "kube-proxy.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "mode": "iptables",
                    "clientConnection": {"kubeconfig": str(self.admin_kubeconfig)},
                    "hostnameOverride": NODE_NAME,
                    "clusterCIDR": POD_CIDR,
                    "bindAddress": self.node_ip,
                    "healthzBindAddress": f"127.0.0.1:{free_port()}",
                    "metricsBindAddress": f"127.0.0.1:{free_port()}",
                    # Leave the host's conntrack table settings alone.
                    "conntrack": {
                        "maxPerCore": 0,
                        "tcpEstablishedTimeout": "0s",
                        "tcpCloseWaitTimeout": "0s",
                    },
                }
            )
        )
        daemon.start([str(binaries["kube_proxy"]), f"--config={config}"], os.environ)

    def _start_scheduler(self, binaries: NodeBinaries) -> None:
        daemon = self.daemon("kube-scheduler")
        if daemon.pid() is not None:
            return
        kubeconfig = str(self.admin_kubeconfig)
        daemon.start(
            [
                str(binaries["kube_scheduler"]),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
            ],
            os.environ,
        )

    def _start_coredns(self, binaries: NodeBinaries) -> None:
        daemon = self.daemon("coredns")
        if daemon.pid() is not None:
            return
        corefile = self.directory / "Corefile"
        corefile.write_text(
            f""".:53 {{
    bind {self.node_ip}
    errors
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {self.admin_kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    forward . /etc/resolv.conf
    cache 30
}}
"""
        )
        daemon.start([str(binaries["coredns"]), "-conf", str(corefile)], os.environ)

    # --- stop -------------------------------------------------------------------------------

    def stop(self) -> bool:
        """Stop everything the node runs and put the host back; False if nothing ran."""
        was_running = self.any_running()
        if not was_running and not self.sysctl_record.exists():
            return False
        self.daemon("kube-scheduler").stop()
        if self.daemon("kubelet").pid() is not None and self.daemon("containerd").pid():
            self._delete_all_pods()
        for name in ("azurite", "coredns", "kube-proxy", "kubelet"):
            self.daemon(name).stop()
        self._kill_leftover_tasks()
        self.daemon("containerd").stop()
        self._clean_host()
        return was_running

    def _delete_all_pods(self, seconds: float = 90) -> None:
        """Delete every pod (nothing reschedules them: the scheduler is stopped) and wait until
        containerd runs no container, so the kubelet has torn down each sandbox's network."""
        with (
            contextlib.suppress(httpx.HTTPError, OSError),
            kube_client(self.admin_kubeconfig) as client,
        ):
            pods = client.get("/api/v1/pods").json().get("items") or []
            for pod in pods:
                meta = pod["metadata"]
                client.delete(
                    f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                    params={"gracePeriodSeconds": "2"},
                )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._tasks():
            time.sleep(1)

    def _ctr(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ctr", "--address", str(self.socket), "-n", CRI_NAMESPACE, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def _tasks(self) -> list[str]:
        if not self.socket.exists():
            return []
        out = self._ctr("tasks", "ls", "-q")
        return out.stdout.split() if out.returncode == 0 else []

    def _kill_leftover_tasks(self) -> None:
        for task in self._tasks():
            self._ctr("tasks", "kill", "-s", "SIGKILL", task)
            for _ in range(20):
                if self._ctr("tasks", "rm", "-f", task).returncode == 0:
                    break
                time.sleep(0.5)

    def _clean_host(self) -> None:
        # kube-proxy's own cleanup of its iptables chains.
        subprocess.run(
            [str(self.binaries["kube_proxy"]), "--cleanup"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        remove_kubelet_chains()
        subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True, check=False)
        self._unmount_under_directory()
        _remove_pod_cgroups()
        restore(self.sysctl_record)

    def _unmount_under_directory(self) -> None:
        mine = str(self.directory.resolve()) + "/"
        mounts = [
            line.split()[1]
            for line in Path("/proc/self/mounts").read_text().splitlines()
            if line.split()[1].startswith(mine)
        ]
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)


def _remove_pod_cgroups(root: Path = Path("/sys/fs/cgroup")) -> None:
    """The kubelet's ``kubepods`` cgroups, deepest first (empty once no container runs)."""
    for hierarchy in root.iterdir() if root.exists() else []:
        top = hierarchy / "kubepods"
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir():
                with contextlib.suppress(OSError):
                    path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
