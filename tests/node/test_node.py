"""The node tier: a real node on this host (``localplatform``'s kube and node parts), pods
running on it, CloudNativePG running PostgreSQL on the Retain class, WAL and a base backup
through the Barman Cloud plugin into Azurite, a new cluster recovered from that archive (every
query made as Coder connects: ``sslmode=verify-full`` against the operator's own CA), and the
host as it was after the node stops.

Needs root and ``scripts/install-node`` (and the toolchain's API server). It runs a platform
instance of its own (its own directories), but the node's bridge, pod range and DNS address are
per host: no other node may run meanwhile. A missing build fails loudly, never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from coder_platform.contracts import CONNECTION_STRING_KEY, LOCAL_PATH_PROVISIONER
from coder_platform.names import (
    app_secret_name,
    archive_server_name,
    backup_store_secret_name,
    object_store_name,
)
from coder_platform.specs.cnpg import BARMAN_PLUGIN, plugin_backup
from coder_platform.specs.postgres_tls import (
    CA_MOUNT_DIR,
    CA_MOUNT_FILE,
    VERIFIED_SSLMODE,
    ca_secret_name,
    rw_host,
)
from components.database import (
    CnpgPostgresArgs,
    RecoverySource,
    cluster_spec,
    object_store_spec,
)
from localplatform import azurite
from localplatform.binaries import ROOT, installed_paths
from localplatform.images import catalog
from localplatform.node import BRIDGE, DAEMONS, kube_client
from localplatform.node_host import read_sysctls
from localplatform.platform import LocalPlatform, toolchain_env
from tests.node.polling import wait_for

pytestmark = pytest.mark.node

NAMESPACE = "node-tier"
RETAIN_CLASS = "node-tier-retain"


@dataclass
class Node:
    platform: LocalPlatform
    host_sysctls: dict[str, str]

    def client(self) -> httpx.Client:
        return kube_client(self.platform.kube_dir / "kubeconfig")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    assert os.geteuid() == 0, "the node tier needs root (containerd, kubelet)"
    base = tmp_path_factory.mktemp("node")
    platform = LocalPlatform(base / "platform", base / "kube", node=True)
    before = read_sysctls()
    env = toolchain_env()
    os.environ["PATH"] = env["PATH"]
    try:
        # The kube and node parts only (no PostgreSQL, OpenBao or Coder: no install-platform).
        platform.start_kube()
        platform.local_node.start()
        yield Node(platform, before)
    finally:
        platform.stop("node")
        platform.stop("kube")


def _apply(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    assert response.status_code in (201, 409), response.text


def test_the_node_is_ready_and_runs_a_pod_whose_log_the_api_server_reads(node: Node) -> None:
    with node.client() as client:
        _apply(client, "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        pod = {
            "metadata": {"name": "hello"},
            "spec": {
                "containers": [
                    {
                        "name": "hello",
                        "image": catalog.LOCAL_PATH_HELPER_IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["/bin/sh", "-c", "echo hello from the node; sleep 3600"],
                    }
                ]
            },
        }
        # The default ServiceAccount appears once the serviceaccount controller runs.
        wait_for(
            lambda: (
                client.get(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default").status_code
                == 200
            ),
            "the default ServiceAccount",
            30,
        )
        _apply(client, f"/api/v1/namespaces/{NAMESPACE}/pods", pod)
        status = wait_for(
            lambda: (
                client.get(f"/api/v1/namespaces/{NAMESPACE}/pods/hello").json()["status"]
                if client.get(f"/api/v1/namespaces/{NAMESPACE}/pods/hello")
                .json()["status"]
                .get("phase")
                == "Running"
                else None
            ),
            "the pod Running",
            90,
        )
        assert status["podIP"].startswith("10.88.")
        log = wait_for(
            lambda: client.get(f"/api/v1/namespaces/{NAMESPACE}/pods/hello/log").text,
            "the pod's log",
            30,
        )
        assert "hello from the node" in log


def test_cnpg_runs_postgresql_on_the_retain_class(node: Node) -> None:
    with node.client() as client:
        _apply(
            client,
            "/apis/storage.k8s.io/v1/storageclasses",
            {
                "metadata": {"name": RETAIN_CLASS},
                "provisioner": LOCAL_PATH_PROVISIONER,
                "reclaimPolicy": "Retain",
                "volumeBindingMode": "WaitForFirstConsumer",
            },
        )
        _apply(client, "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        cluster = {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "pg"},
            "spec": {
                "instances": 1,
                "imageName": catalog.POSTGRES_IMAGE,
                "imagePullPolicy": "Never",
                "storage": {"size": "1Gi", "storageClass": RETAIN_CLASS},
            },
        }
        path = f"/apis/postgresql.cnpg.io/v1/namespaces/{NAMESPACE}/clusters"
        _apply(client, path, cluster)
        wait_for(
            lambda: (
                client.get(f"{path}/pg").json().get("status", {}).get("phase")
                == "Cluster in healthy state"
            ),
            "the CNPG cluster healthy",
            300,
        )
        pvc = client.get(f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/pg-1").json()
        assert pvc["status"]["phase"] == "Bound"
        assert pvc["spec"]["storageClassName"] == RETAIN_CLASS
        volume = client.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}").json()
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


# The program's database, as components/database.py renders it: generation 1 in one namespace;
# generation 2 recovers from generation 1's archive in another (two Clusters of one name cannot
# share a namespace; the program replaces one with the other, the restore drill does this).
CLUSTER = "coder-db"
GENERATION_NAMESPACES = {1: NAMESPACE, 2: f"{NAMESPACE}-g2"}
OWNER = "coder"
DATABASE = "coder"
ROW = "written before the backup"
WRITE_ROW = f"CREATE TABLE kept (note text); INSERT INTO kept VALUES ('{ROW}');"
READ_ROW = "SELECT note FROM kept;"
# The app Secret the program owns (backups carry no Secrets): one password for both generations.
PASSWORD = "node-tier-" + os.urandom(8).hex()


def _args(node: Node, generation: int) -> CnpgPostgresArgs:
    return CnpgPostgresArgs(
        namespace=GENERATION_NAMESPACES[generation],
        cluster_name=CLUSTER,
        database=DATABASE,
        owner=OWNER,
        instances=1,
        storage_size="1Gi",
        storage_class_name=RETAIN_CLASS,
        image=catalog.POSTGRES_IMAGE,
        generation=generation,
        destination_path=azurite.destination_path(node.platform.local_node.node_ip),
        retention_days=7,
        backup_schedule="0 0 3 * * *",
        backup_immediate=True,
        wal_compression="gzip",
        resources={
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        recovery=RecoverySource(generation=generation - 1) if generation > 1 else None,
        # The node's store: Azurite's account in a connection string (the node stack's
        # credential, read from OpenBao there), in place of the workload identity.
        connection_string=node.platform.local_node.backup_store_connection_string,
    )


def _deploy_generation(client: httpx.Client, node: Node, generation: int) -> CnpgPostgresArgs:
    """What the program creates for one generation, in its order: namespace, app Secret,
    the store's Secret, ObjectStore, Cluster."""
    args = _args(node, generation)
    namespace = args.namespace
    _apply(client, "/api/v1/namespaces", {"metadata": {"name": namespace}})
    secrets = f"/api/v1/namespaces/{namespace}/secrets"
    _apply(
        client,
        secrets,
        {
            "metadata": {"name": app_secret_name(CLUSTER)},
            "type": "kubernetes.io/basic-auth",
            "stringData": {"username": OWNER, "password": PASSWORD},
        },
    )
    _apply(
        client,
        secrets,
        {
            "metadata": {"name": backup_store_secret_name(CLUSTER)},
            "stringData": {CONNECTION_STRING_KEY: str(args.connection_string)},
        },
    )
    _apply(
        client,
        f"/apis/barmancloud.cnpg.io/v1/namespaces/{namespace}/objectstores",
        {
            "apiVersion": "barmancloud.cnpg.io/v1",
            "kind": "ObjectStore",
            "metadata": {"name": object_store_name(CLUSTER)},
            "spec": object_store_spec(args),
        },
    )
    _apply(
        client,
        f"/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/clusters",
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": CLUSTER},
            "spec": cluster_spec(args),
        },
    )
    return args


def _cluster_status(client: httpx.Client, namespace: str) -> dict[str, Any]:
    path = f"/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/clusters/{CLUSTER}"
    status: dict[str, Any] = client.get(path).json().get("status", {})
    return status


def _psql_pod(name: str, namespace: str, sql: str) -> dict[str, Any]:
    """A pod that connects as Coder does: to the read-write Service's ``.svc`` name with
    ``sslmode=verify-full`` against the CA CloudNativePG keeps in ``<cluster>-ca``, mounted where
    Coder mounts its copy. So each query here also proves, on the operator's real certificate,
    the names and the CA the program's database URIs rely on."""
    conninfo = (
        f"host={rw_host(CLUSTER, namespace)} user={OWNER} dbname={DATABASE} "
        f"sslmode={VERIFIED_SSLMODE} sslrootcert={CA_MOUNT_FILE}"
    )
    return {
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "volumes": [{"name": "db-ca", "secret": {"secretName": ca_secret_name(CLUSTER)}}],
            "containers": [
                {
                    "name": "psql",
                    "image": catalog.POSTGRES_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["psql", conninfo, "-tA", "-c", sql],
                    "volumeMounts": [
                        {"name": "db-ca", "mountPath": CA_MOUNT_DIR, "readOnly": True}
                    ],
                    "env": [
                        {
                            "name": "PGPASSWORD",
                            "valueFrom": {
                                "secretKeyRef": {
                                    "name": app_secret_name(CLUSTER),
                                    "key": "password",
                                }
                            },
                        }
                    ],
                }
            ],
        },
    }


def _psql(client: httpx.Client, namespace: str, name: str, sql: str) -> str:
    """Run ``sql`` as the owner against the cluster's read-write Service, in a pod of the
    PostgreSQL image (the password from the app Secret); return the pod's log. A refused
    connection (the Service's endpoint or kube-proxy's rule a moment behind a primary that is
    already up) is tried again in a new pod: nothing ran, so nothing is written twice."""
    pods = f"/api/v1/namespaces/{namespace}/pods"
    log = ""
    for attempt in range(10):
        pod_name = f"psql-{name}-{attempt}"
        _apply(client, pods, _psql_pod(pod_name, namespace, sql))

        def finished(pod_name: str = pod_name) -> str | None:
            phase = client.get(f"{pods}/{pod_name}").json().get("status", {}).get("phase")
            return phase if phase in ("Succeeded", "Failed") else None

        phase = wait_for(finished, f"psql ({pod_name}) to finish", 120)
        log = client.get(f"{pods}/{pod_name}/log").text
        if phase == "Succeeded":
            return log
        assert "Connection refused" in log, log
        time.sleep(3)
    pytest.fail(f"psql ({name}) never connected: {log}")


def _venv() -> Path:
    """The venv the sidecar image is made of (barman-cloud and the Azure SDK), on the host."""
    paths = installed_paths(ROOT, "install-node", "node: not installed", "builds it")
    return Path(paths["barman_venv"])


def _blobs(connection_string: str, prefix: str) -> list[str]:
    script = (
        "import os, sys\n"
        "from azure.storage.blob import ContainerClient\n"
        "c = ContainerClient.from_connection_string(\n"
        "    os.environ['AZURE_STORAGE_CONNECTION_STRING'], sys.argv[1])\n"
        "print('\\n'.join(b.name for b in c.list_blobs(name_starts_with=sys.argv[2])))\n"
    )
    out = subprocess.run(
        [str(_venv() / "bin" / "python"), "-c", script, azurite.CONTAINER, prefix],
        env={**os.environ, "AZURE_STORAGE_CONNECTION_STRING": connection_string},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def _backup_list(destination: str, server: str, connection_string: str) -> list[dict[str, Any]]:
    """``barman-cloud-backup-list``, as an operator would read the store."""
    venv = _venv()
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            str(venv / "bin" / "barman-cloud-backup-list"),
            *("--cloud-provider", "azure-blob-storage", "--format", "json"),
            destination,
            server,
        ],
        env={**os.environ, "AZURE_STORAGE_CONNECTION_STRING": connection_string},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    backups: list[dict[str, Any]] = json.loads(out.stdout)["backups_list"]
    return backups


def test_the_programs_cluster_archives_wal_and_its_scheduled_base_backup_into_azurite(
    node: Node,
) -> None:
    with node.client() as client:
        args = _deploy_generation(client, node, 1)
        namespace = args.namespace

        def archiving() -> bool:
            conditions = _cluster_status(client, namespace).get("conditions") or []
            return any(
                c["type"] == "ContinuousArchiving" and c["status"] == "True" for c in conditions
            )

        wait_for(archiving, "WAL archiving through the plugin (ContinuousArchiving True)", 300)
        wait_for(
            lambda: _cluster_status(client, namespace).get("phase") == "Cluster in healthy state",
            "generation 1 healthy",
            300,
        )
        pod = client.get(f"/api/v1/namespaces/{namespace}/pods/{CLUSTER}-1").json()
        assert pod["status"]["phase"] == "Running"
        sidecars = [c["image"] for c in pod["spec"].get("initContainers") or []]
        assert any(image.startswith(catalog.BARMAN_CLOUD_SIDECAR_REPOSITORY) for image in sidecars)
        pvc = client.get(
            f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{CLUSTER}-1"
        ).json()
        assert pvc["spec"]["storageClassName"] == RETAIN_CLASS
        volume = client.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}").json()
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        # A row the backup must carry to the next generation (the next test).
        log = _psql(client, namespace, "write", WRITE_ROW)
        assert "INSERT 0 1" in log, log
        # The ScheduledBackup the program renders (immediate: one backup now).
        _apply(
            client,
            f"/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/scheduledbackups",
            {
                "apiVersion": "postgresql.cnpg.io/v1",
                "kind": "ScheduledBackup",
                "metadata": {"name": f"{CLUSTER}-base-backup"},
                "spec": plugin_backup(args.backup_schedule, CLUSTER, immediate=True),
            },
        )

        def completed() -> list[dict[str, Any]]:
            path = f"/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/backups"
            return [
                b
                for b in client.get(path).json()["items"]
                if b.get("status", {}).get("phase") == "completed"
            ]

        [backup] = wait_for(completed, "a completed base backup", 300)
        assert backup["spec"]["method"] == "plugin"
        assert backup["spec"]["pluginConfiguration"]["name"] == BARMAN_PLUGIN
    server = archive_server_name(CLUSTER, 1)
    connection_string = node.platform.local_node.backup_store_connection_string
    listed = _backup_list(str(args.destination_path), server, connection_string)
    assert [b["status"] for b in listed] == ["DONE"], listed
    assert listed[0]["backup_id"] == backup["status"]["backupId"]
    # WAL segments archived by the sidecar under this generation's server name.
    wals = _blobs(connection_string, f"{server}/wals/")
    assert any(listed[0]["end_wal"] in name for name in wals), wals


def test_the_next_generation_recovers_the_backed_up_data_from_azurite(node: Node) -> None:
    with node.client() as client:
        args = _deploy_generation(client, node, 2)
        assert args.recovery is not None
        wait_for(
            lambda: (
                _cluster_status(client, args.namespace).get("phase") == "Cluster in healthy state"
            ),
            "generation 2 recovered and healthy",
            400,
        )
        log = _psql(client, args.namespace, "read", READ_ROW)
    assert log.split() == ROW.split(), log


def test_stopping_the_node_leaves_the_host_as_it_was(node: Node) -> None:
    platform = node.platform
    pids = {name: platform.local_node.daemon(name).pid() for name in DAEMONS}
    assert all(pids.values()), pids
    assert platform.stop("node")
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) still runs"
    socket = str(platform.local_node.socket)
    shims = subprocess.run(
        ["pgrep", "-af", "containerd-shim"], capture_output=True, text=True, check=False
    )
    assert socket not in shims.stdout
    assert read_sysctls() == node.host_sysctls
    link = subprocess.run(
        ["ip", "link", "show", BRIDGE], capture_output=True, text=True, check=False
    )
    assert link.returncode != 0, f"the bridge {BRIDGE} is still there"
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert "KUBE-" not in rules, "kube-proxy's or the kubelet's iptables chains are left"
