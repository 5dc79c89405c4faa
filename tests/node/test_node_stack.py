"""The node stack through the runner: one ``reconcile`` deploys the data layer onto a real node
(the Retain class on the local-path provisioner, the CNPG cluster archiving WAL and taking a
base backup through the Barman Cloud plugin into Azurite), a second changes nothing, a missing
connection string in OpenBao stops the run naming its path, a Job from the restore drill's
CronJob (the runner image built from the Dockerfile) restores the archive into its scratch
cluster and logs its JSON line with RTO and RPO, the incident replayed on the data
layer (marker rows written and archived, ``kubectl delete namespace`` of the database, the Retain
volume left Released, the runbook's "A lost cluster" followed: recovery enabled, generation
bumped, one ``reconcile``; RTO and RPO measured, the next reconcile converged), and ``down``
restores the host.

A platform instance of its own (its directories, free ports for Coder and OpenBao, a copy of
``stacks/Pulumi.node.yaml`` pointing at them), as the e2e tier runs one; the node's bridge, pod
range and DNS address are per host, so it runs after ``test_node.py``'s node has stopped.
A missing build fails loudly, never skips.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from coder_platform.config import read_stack_file
from coder_platform.contracts import CODER_URL_ENV, LOCAL_PATH_PROVISIONER, PROJECT, ExitCode
from coder_platform.names import app_secret_name, archive_server_name
from coder_platform.specs.cnpg import BARMAN_PLUGIN
from localplatform import azurite
from localplatform.binaries import ROOT, PlatformBinaries, installed_paths
from localplatform.daemon import PartError
from localplatform.images.runner import RUNNER_IMAGE
from localplatform.locations import free_port
from localplatform.node import BRIDGE, kube_client
from localplatform.node_host import read_sysctls
from localplatform.platform import LocalPlatform, port_is_free, toolchain_env
from testbed import project
from testbed.project import Project, Run
from tests.node.polling import wait_for

pytestmark = pytest.mark.node

STACK = "node"
PROJECT_FILES = (*project.PROJECT_FILES, "localplatform/templates")
CONFIG = read_stack_file(ROOT / "stacks" / f"Pulumi.{STACK}.yaml")
NAMESPACE = CONFIG.namespaces.database
CLUSTER = CONFIG.database.cluster_name
STORE_PATH = CONFIG.database.backup.connection_string_path
CNPG = f"/apis/postgresql.cnpg.io/v1/namespaces/{NAMESPACE}"


@dataclass
class NodeStack:
    platform: LocalPlatform
    project: Project
    host_sysctls: dict[str, str]

    def reconcile(self) -> Run:
        return self.project.run("reconcile", STACK, timeout=900)

    def client(self) -> httpx.Client:
        return kube_client(self.platform.kube_dir / "kubeconfig")


def _free_port_pair() -> int:
    """A free port whose successor is free too: OpenBao binds its cluster port there."""
    while not port_is_free((port := free_port()) + 1):
        pass
    return port


def _write_stack(work_dir: Path, platform: LocalPlatform) -> Path:
    """The node stack pointed at this instance's Coder and OpenBao."""
    stack_file = work_dir / "stacks" / f"Pulumi.{STACK}.yaml"
    stack = yaml.safe_load(stack_file.read_text())
    config = stack["config"]
    config[f"{PROJECT}:coder"]["url"] = platform.coder.url
    config[f"{PROJECT}:vault"]["address"] = platform.openbao.address
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))
    return stack_file


@pytest.fixture(scope="module")
def node_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeStack]:
    assert os.geteuid() == 0, "the node tier needs root (containerd, kubelet)"
    base = tmp_path_factory.mktemp("node-stack")
    work_dir = base / "project"
    project.copy_files(work_dir, PROJECT_FILES)
    platform = LocalPlatform(
        base / "platform",
        base / "kube",
        coder_port=free_port(),
        openbao_port=_free_port_pair(),
        node=True,
    )
    before = read_sysctls()
    env = toolchain_env()
    os.environ["PATH"] = env["PATH"]
    try:
        endpoints = platform.up(_write_stack(work_dir, platform))
    except PartError as error:
        platform.down()
        pytest.fail(f"the node stack needs the local platform with a node: {error}")
    env |= {"KUBECONFIG": endpoints.kubeconfig, "VAULT_TOKEN": platform.openbao.root_token()}
    env.pop(CODER_URL_ENV, None)
    try:
        yield NodeStack(platform, Project(work_dir, env), before)
    finally:
        platform.down()


def _venv() -> Path:
    paths = installed_paths(ROOT, "install-node", "node: not installed", "builds it")
    return Path(paths["barman_venv"])


def _barman(script: str, *args: str, connection_string: str) -> str:
    venv = _venv()
    out = subprocess.run(
        [str(venv / "bin" / "python"), str(venv / "bin" / script), *args],
        env={**os.environ, "AZURE_STORAGE_CONNECTION_STRING": connection_string},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_one_reconcile_deploys_the_data_layer_onto_the_node(node_stack: NodeStack) -> None:
    run = node_stack.reconcile()
    assert run.exit_code == ExitCode.HEALED, (run.report.get("error"), run.stderr[-3000:])
    with node_stack.client() as client:

        def cluster() -> dict[str, Any]:
            status: dict[str, Any] = (
                client.get(f"{CNPG}/clusters/{CLUSTER}").json().get("status", {})
            )
            return status

        def archiving() -> bool:
            return any(
                c["type"] == "ContinuousArchiving" and c["status"] == "True"
                for c in cluster().get("conditions") or []
            )

        wait_for(
            lambda: cluster().get("phase") == "Cluster in healthy state", "the cluster healthy", 300
        )
        wait_for(archiving, "WAL archiving through the plugin (ContinuousArchiving True)", 300)
        pod = client.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{CLUSTER}-1").json()
        assert pod["status"]["phase"] == "Running"
        pvc = client.get(
            f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/{CLUSTER}-1"
        ).json()
        storage_class = client.get(
            f"/apis/storage.k8s.io/v1/storageclasses/{pvc['spec']['storageClassName']}"
        ).json()
        assert storage_class["provisioner"] == LOCAL_PATH_PROVISIONER
        assert storage_class["reclaimPolicy"] == "Retain"
        volume = client.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}").json()
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"

        def completed() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = client.get(f"{CNPG}/backups").json()["items"]
            return [b for b in items if b.get("status", {}).get("phase") == "completed"]

        # The ScheduledBackup the program deploys takes one at once (backup.immediate).
        [backup] = wait_for(completed, "a completed base backup", 300)
        assert backup["spec"]["method"] == "plugin"
        assert backup["spec"]["pluginConfiguration"]["name"] == BARMAN_PLUGIN
    connection_string = node_stack.platform.local_node.backup_store_connection_string
    destination = azurite.destination_path(
        node_stack.platform.local_node.node_ip, CONFIG.database.backup.container_name
    )
    server = archive_server_name(CLUSTER, CONFIG.database.generation)
    listed = json.loads(
        _barman(
            "barman-cloud-backup-list",
            *("--cloud-provider", "azure-blob-storage", "--format", "json"),
            destination,
            server,
            connection_string=connection_string,
        )
    )["backups_list"]
    assert [b["status"] for b in listed] == ["DONE"], listed
    assert listed[0]["backup_id"] == backup["status"]["backupId"]
    # The WAL segment the backup ends in, archived under this generation's server name.
    script = (
        "import os, sys\n"
        "from azure.storage.blob import ContainerClient\n"
        "c = ContainerClient.from_connection_string(\n"
        "    os.environ['AZURE_STORAGE_CONNECTION_STRING'], sys.argv[1])\n"
        "print('\\n'.join(b.name for b in c.list_blobs(name_starts_with=sys.argv[2])))\n"
    )
    out = subprocess.run(
        [
            *(str(_venv() / "bin" / "python"), "-c", script),
            *(CONFIG.database.backup.container_name, f"{server}/wals/"),
        ],
        env={**os.environ, "AZURE_STORAGE_CONNECTION_STRING": connection_string},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    wals = out.stdout.split()
    assert any(listed[0]["end_wal"] in name for name in wals), wals


def test_a_second_reconcile_changes_nothing(node_stack: NodeStack) -> None:
    run = node_stack.reconcile()
    assert run.exit_code == ExitCode.OK, (run.report.get("drifted"), run.stderr[-3000:])


def test_a_missing_connection_string_stops_the_run_naming_its_path(
    node_stack: NodeStack,
) -> None:
    assert STORE_PATH is not None
    bao = node_stack.platform.openbao
    saved = bao.read_kv(STORE_PATH)
    assert saved is not None, "up --node seeds the node's Azurite connection string"
    bao.request("DELETE", f"{CONFIG.vault.kv_mount}/metadata/{STORE_PATH}")
    try:
        run = node_stack.reconcile()
    finally:
        bao.write_kv(STORE_PATH, saved)
    output = json.dumps(run.report) + run.stderr
    # The program stops its preview before registering anything; the runner reports the
    # engine's failure (17), as for any missing Vault input.
    assert run.exit_code == ExitCode.UPDATE_FAILED, output[-3000:]
    assert "nothing was deployed" in output
    assert f"{CONFIG.vault.kv_mount}/{STORE_PATH}" in output
    assert next(iter(saved.values())) not in output
    # Nothing was deployed or deleted: the database still runs.
    with node_stack.client() as client:
        cluster = client.get(f"{CNPG}/clusters/{CLUSTER}").json()
    assert cluster["status"]["phase"] == "Cluster in healthy state"


# The restore drill in the cluster: its CronJob's pod runs the runner image built from the
# project's Dockerfile. Coder here is still the host's Coder on the platform's own PostgreSQL
# (coder.deploy: false), so the CNPG database holds no Coder tables of its own: stand-ins with
# the columns the drill reads (automation/drill/coder_tables.py: users and templates, soft
# deletes, the freshness columns) are written and archived first, as Coder's would be.
DRILL = CONFIG.restore_drill
DRILL_JOB = "drill-manual"


def _archive_current_wal(client: httpx.Client) -> None:
    """Fill the current WAL segment with a table of WAL, as a busy database does, and wait
    until it is archived (pg_switch_wal, what archive_timeout does on a quiet database, is the
    superuser's, and CNPG gives the app owner no more)."""
    segment = _must(client, "SELECT pg_walfile_name(pg_current_wal_lsn())").strip()
    _must(
        client,
        "CREATE TABLE wal_filler AS SELECT g, repeat('x', 1000) AS pad "
        "FROM generate_series(1, 30000) AS g; DROP TABLE wal_filler",
    )

    def archived() -> bool:
        last = _sql(client, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        return last is not None and last.strip() >= segment

    wait_for(archived, f"WAL segment {segment} archived", 120)


def _job_from_cron_job(cron_job: dict[str, Any], name: str) -> dict[str, Any]:
    """What ``kubectl create job --from=cronjob/<name>`` creates: the CronJob's job template,
    owned by the CronJob and marked as a manual run."""
    template = cron_job["spec"]["jobTemplate"]
    meta = cron_job["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": template.get("metadata", {}).get("labels") or {},
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": template["spec"],
    }


def test_the_restore_drill_job_restores_the_archive_and_logs_rto_and_rpo(
    node_stack: NodeStack, record_property: Callable[[str, Any], None]
) -> None:
    with node_stack.client() as client:
        _must(
            client,
            "CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, username text NOT NULL, "
            "deleted boolean NOT NULL DEFAULT false, is_system boolean NOT NULL DEFAULT false, "
            "updated_at timestamptz NOT NULL DEFAULT now()); "
            "CREATE TABLE IF NOT EXISTS templates (id serial PRIMARY KEY, name text NOT NULL, "
            "deleted boolean NOT NULL DEFAULT false, "
            "updated_at timestamptz NOT NULL DEFAULT now()); "
            "INSERT INTO users (username) VALUES ('platform-admin'), ('template-author'); "
            "INSERT INTO users (username, deleted) VALUES ('gone', true); "
            "INSERT INTO templates (name) VALUES ('hello')",
        )
        _archive_current_wal(client)
        namespace = DRILL.namespace
        cron_jobs = client.get(f"/apis/batch/v1/namespaces/{namespace}/cronjobs").json()
        [cron_job] = cron_jobs["items"]
        [container] = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == RUNNER_IMAGE
        created = client.post(
            f"/apis/batch/v1/namespaces/{namespace}/jobs",
            json=_job_from_cron_job(cron_job, DRILL_JOB),
        )
        assert created.status_code == 201, created.text

        def finished() -> dict[str, Any] | None:
            job = client.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{DRILL_JOB}").json()
            status: dict[str, Any] = job.get("status") or {}
            return status if status.get("succeeded") or status.get("failed") else None

        status = wait_for(finished, f"Job {namespace}/{DRILL_JOB} finished", 900)
        [pod] = client.get(
            f"/api/v1/namespaces/{namespace}/pods",
            params={"labelSelector": f"job-name={DRILL_JOB}"},
        ).json()["items"]
        # kubectl logs job/drill-manual: the pod's log through the API server.
        log = client.get(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/log").text
        assert status.get("succeeded") == 1, log[-3000:]
        [line] = [
            json.loads(x) for x in log.splitlines() if x.startswith('{"kind": "restore-drill"')
        ]
        record_property("restore_drill", line)
        print(f"\nrestore drill (in the cluster): {json.dumps(line)}")
        assert line["success"] is True, line
        assert line["stack"] == STACK
        assert line["users"] == 2 and line["templates"] == 1, line
        assert line["rto_seconds"] > 0 and line["rpo_seconds"] is not None, line
        assert line["cleanup_ok"] is True
        assert [step["name"] for step in line["steps"]] == [
            "clean",
            "restore",
            "ready",
            "query",
            "cleanup",
        ]
        # The scratch cluster is gone, and its claims follow (the Delete class takes the
        # volumes with them).
        clusters = client.get(f"/apis/postgresql.cnpg.io/v1/namespaces/{namespace}/clusters")
        assert clusters.json()["items"] == []
        wait_for(
            lambda: (
                client.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims").json()["items"]
                == []
            ),
            f"the scratch claims in {namespace} deleted",
            120,
        )


# The incident drill's data-layer half. Coder here is still the host's Coder on the platform's
# own PostgreSQL (coder.deploy: false), so the rows replayed are marker rows in the CNPG
# database, not Coder's: Coder's own data on CNPG needs its chart on the node (not done).
MARKERS = "incident_markers"


def _app_login(client: httpx.Client) -> dict[str, str]:
    secret = client.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/{app_secret_name(CLUSTER)}").json()
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def _sql(client: httpx.Client, sql: str) -> str | None:
    """Run ``sql`` as the app owner from the host against the primary's pod address (the node's
    bridge routes it); ``None`` while the database does not answer yet."""
    pod = client.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{CLUSTER}-1")
    address = pod.json().get("status", {}).get("podIP") if pod.status_code == 200 else None
    login = _app_login(client) if address else {}
    if not address or "password" not in login:
        return None
    psql = PlatformBinaries.installed().postgres_bin / "psql"
    out = subprocess.run(
        [
            *(str(psql), "-h", address, "-U", login["username"], "-d", login["dbname"]),
            *("-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql),
        ],
        env={**os.environ, "PGPASSWORD": login["password"], "PGCONNECT_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out.stdout if out.returncode == 0 else None


def _must(client: httpx.Client, sql: str) -> str:
    def answer() -> list[str] | None:
        out = _sql(client, sql)
        return None if out is None else [out]

    answered: list[str] = wait_for(answer, f"the database to answer {sql!r}", 120)
    return answered[0]


@dataclass
class Incident:
    """What the drill wrote and when: the marker rows (number -> written_at, epoch seconds), the
    newest one inside an archived WAL segment, the Retain volume, and when the namespace went."""

    markers: dict[int, float]
    archived_up_to: int
    archive_timeout_seconds: int
    volume: str
    deleted_at: float


@pytest.fixture(scope="module")
def incident(node_stack: NodeStack) -> Incident:
    """Rows written, WAL archived (a switch, as archive_timeout does on a quiet database), more
    rows written, then the incident: ``kubectl delete namespace coder-db`` (the API's DELETE)."""
    with node_stack.client() as client:
        _must(
            client,
            f"CREATE TABLE IF NOT EXISTS {MARKERS} "
            "(n int PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        )
        timeout = _must(client, "SELECT setting FROM pg_settings WHERE name = 'archive_timeout'")

        def write(n: int) -> None:
            _must(client, f"INSERT INTO {MARKERS} (n) VALUES ({n})")
            time.sleep(1)

        for n in (1, 2, 3):
            write(n)
        # The segment holding marker 3, archived.
        _archive_current_wal(client)
        for n in (4, 5, 6):
            write(n)
        rows = _must(client, f"SELECT n, extract(epoch FROM written_at) FROM {MARKERS}")
        markers = {int(n): float(t) for n, t in (line.split("|") for line in rows.split())}
        pvc = client.get(
            f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/{CLUSTER}-1"
        ).json()
        deleted_at = time.time()
        # The incident (kubectl delete namespace coder-db).
        response = client.delete(f"/api/v1/namespaces/{NAMESPACE}")
        assert response.status_code in (200, 202), response.text
    return Incident(markers, 3, int(timeout), pvc["spec"]["volumeName"], deleted_at)


def test_the_namespace_delete_keeps_the_volume_released_by_the_retain_class(
    node_stack: NodeStack, incident: Incident
) -> None:
    with node_stack.client() as client:
        wait_for(
            lambda: client.get(f"/api/v1/namespaces/{NAMESPACE}").status_code == 404,
            f"namespace {NAMESPACE} gone",
            300,
        )
        volume = wait_for(
            lambda: (
                v
                if (v := client.get(f"/api/v1/persistentvolumes/{incident.volume}").json())
                .get("status", {})
                .get("phase")
                == "Released"
                else None
            ),
            f"volume {incident.volume} Released",
            120,
        )
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert volume["spec"]["claimRef"]["namespace"] == NAMESPACE


def test_the_readme_recovery_brings_the_rows_back_within_the_archive_timeout(
    node_stack: NodeStack, incident: Incident, record_property: Callable[[str, Any], None]
) -> None:
    # docs/runbook.md, "A lost cluster": 1. recovery enabled, generation bumped in the stack
    # config; 2. one reconcile.
    stack_file = node_stack.project.work_dir / "stacks" / f"Pulumi.{STACK}.yaml"
    stack = yaml.safe_load(stack_file.read_text())
    database = stack["config"][f"{PROJECT}:database"]
    database["generation"] = CONFIG.database.generation + 1
    database["recovery"] = {"enabled": True}
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))
    with node_stack.client() as client:
        wait_for(
            lambda: client.get(f"/api/v1/namespaces/{NAMESPACE}").status_code == 404,
            f"namespace {NAMESPACE} gone",
            300,
        )
        run = node_stack.reconcile()
        assert run.exit_code == ExitCode.HEALED, (run.report.get("error"), run.stderr[-3000:])
        rows = wait_for(
            lambda: _sql(client, f"SELECT n FROM {MARKERS} ORDER BY n"),
            "the recovered database answering with its marker rows",
            600,
        )
        answered_at = time.time()
    back = {int(n) for n in rows.split()}
    lost = set(incident.markers) - back
    newest_back = max(incident.markers[n] for n in back)
    rpo = max(incident.markers[n] for n in lost) - newest_back if lost else 0.0
    rto = answered_at - incident.deleted_at
    figures = {
        "rto_seconds": round(rto, 1),
        "rpo_seconds": round(rpo, 1),
        "markers_back": sorted(back),
        "markers_lost": sorted(lost),
        "archive_timeout_seconds": incident.archive_timeout_seconds,
        "generation": CONFIG.database.generation + 1,
    }
    for key, value in figures.items():
        record_property(key, value)
    print(f"\nincident drill (data layer): {json.dumps(figures)}")
    # Every row inside an archived segment comes back; what is lost is younger than the
    # archive_timeout the config promises as RPO.
    assert set(range(1, incident.archived_up_to + 1)) <= back, figures
    assert rpo <= incident.archive_timeout_seconds, figures


def test_the_reconcile_after_the_recovery_changes_nothing(
    node_stack: NodeStack, incident: Incident
) -> None:
    run = node_stack.reconcile()
    assert run.exit_code == ExitCode.OK, (run.report.get("drifted"), run.stderr[-3000:])


def test_down_leaves_the_host_as_it_was(node_stack: NodeStack) -> None:
    stopped = node_stack.platform.down()
    assert "node" in stopped
    assert read_sysctls() == node_stack.host_sysctls
    link = subprocess.run(
        ["ip", "link", "show", BRIDGE], capture_output=True, text=True, check=False
    )
    assert link.returncode != 0, f"the bridge {BRIDGE} is still there"
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert "KUBE-" not in rules, "kube-proxy's or the kubelet's iptables chains are left"
