"""The node stack through the runner: one ``reconcile`` deploys the data layer onto a real node
(the Retain class on the local-path provisioner, the CNPG cluster archiving WAL and taking a
base backup through the Barman Cloud plugin into Azurite) and Coder from its Helm chart on that
database, seeded as on local (its rows read back from CNPG), with the OIDC issuer and client id
the program read from OpenBao; a second changes nothing and writes nothing to Coder, a missing
connection string in OpenBao stops the run naming its path, a Job from the restore drill's
CronJob (the runner image built from the Dockerfile) restores Coder's own tables from the
archive into its scratch cluster and logs its JSON line with RTO and RPO, and ``down`` restores
the host. The incident replayed on this stack is ``scripts/incident-drill``
(test_incident_drill.py).

A platform instance of its own (its directories, free ports for Coder and OpenBao, a copy of
``stacks/Pulumi.node.yaml`` pointing at them), as the e2e tier runs one; the node's bridge, pod
range and DNS address are per host, so it runs after ``test_node.py``'s node has stopped.
A missing build fails loudly, never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from coder_platform.config import read_stack_file
from coder_platform.contracts import (
    ADMIN_USERNAME_KEY,
    CODER_URL_ENV,
    LICENSE_KEY,
    LOCAL_PATH_PROVISIONER,
    OIDC_CLIENT_ID_KEY,
    OIDC_ISSUER_URL_KEY,
    ExitCode,
)
from coder_platform.names import app_secret_name, archive_server_name
from coder_platform.specs.cnpg import BARMAN_PLUGIN
from components.coder import DB_URI_KEY
from localplatform import azurite, kubeapply
from localplatform.binaries import ROOT, PlatformBinaries, installed_paths
from localplatform.cnpg_probe import CnpgProbe
from localplatform.daemon import PartError
from localplatform.images.catalog import coder_image_name
from localplatform.images.runner import RUNNER_IMAGE
from localplatform.locations import free_port
from localplatform.node import BRIDGE, kube_client
from localplatform.node_host import read_sysctls
from localplatform.node_state import KEY_ENV as STATE_KEY_ENV
from localplatform.openbao import OIDC_CLIENT
from localplatform.openbao_kubernetes import ReconcilerLogin
from localplatform.platform import LocalPlatform, free_openbao_port, toolchain_env
from localplatform.project_copy import WITH_LOCAL_TEMPLATES, copy_files, point_stack_at
from localplatform.token_request import service_account_token
from testbed.project import Project, Run
from tests.node.polling import wait_for

pytestmark = pytest.mark.node

STACK = "node"
# What the runner image's build context needs besides the program (the Dockerfile's recipe).
IMAGE_FILES = ("automation", "Dockerfile", ".dockerignore", "requirements.txt", "pyproject.toml")
CONFIG = read_stack_file(ROOT / "stacks" / f"Pulumi.{STACK}.yaml")
NAMESPACE = CONFIG.namespaces.database
CLUSTER = CONFIG.database.cluster_name
STORE_PATH = CONFIG.database.backup.connection_string_path
CNPG = f"/apis/postgresql.cnpg.io/v1/namespaces/{NAMESPACE}"
CODER_NAMESPACE = CONFIG.namespaces.coder


@dataclass
class NodeStack:
    platform: LocalPlatform
    project: Project
    host_sysctls: dict[str, str]

    def reconcile(self) -> Run:
        return self.project.run("reconcile", STACK, timeout=900)

    def client(self) -> httpx.Client:
        return kube_client(self.platform.kube_dir / "kubeconfig")


def _write_stack(work_dir: Path, platform: LocalPlatform) -> Path:
    """The node stack pointed at this instance's OpenBao (its Coder is the chart's, at the
    node's NodePort; the OIDC issuer and client id are read from this OpenBao)."""
    stack_file = work_dir / "stacks" / f"Pulumi.{STACK}.yaml"
    point_stack_at(stack_file, platform.coder.url, platform.openbao.address)
    return stack_file


@pytest.fixture(scope="module")
def node_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeStack]:
    assert os.geteuid() == 0, "the node tier needs root (containerd, kubelet)"
    base = tmp_path_factory.mktemp("node-stack")
    work_dir = base / "project"
    # The runner image is built from this copy too, so the reconciler's pod reads this stack.
    copy_files(work_dir, (*WITH_LOCAL_TEMPLATES, *IMAGE_FILES))
    platform = LocalPlatform(
        base / "platform",
        base / "kube",
        coder_port=free_port(),
        openbao_port=free_openbao_port(),
        node=True,
        project_root=work_dir,
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
    # The stack's state in the node's Azurite, where the reconciler's pod reads it too.
    assert endpoints.state_key_file is not None, "up --node prepared no state backend"
    env |= endpoints.state_backend
    env[STATE_KEY_ENV] = Path(endpoints.state_key_file).read_text().strip()
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


def _coder_pod(client: httpx.Client) -> dict[str, Any] | None:
    pods = client.get(
        f"/api/v1/namespaces/{CODER_NAMESPACE}/pods",
        params={"labelSelector": "app.kubernetes.io/name=coder"},
    ).json()["items"]
    return pods[0] if len(pods) == 1 else None


def _seeded_users() -> set[str]:
    """The automation identity (Coder's first user, named in OpenBao) and the stack's users."""
    assert CONFIG.seeding is not None
    return {u.username for u in CONFIG.seeding.users}


def test_coder_from_its_chart_answers_on_the_cnpg_database_seeded_as_on_local(
    node_stack: NodeStack,
) -> None:
    """Runs after the first reconcile: the Helm release's pod runs the platform's Coder build,
    trusts this platform's OpenBao (the issuer and client id the program read from it, not
    from the stack file), answers at the stack's access URL (the NodePort on loopback), and
    what that reconcile seeded through it is in the CNPG database."""
    assert CONFIG.coder is not None and CONFIG.seeding is not None
    assert CONFIG.coder.oidc is not None and CONFIG.coder.oidc.issuer_url is None
    access_url = str(CONFIG.coder.access_url).rstrip("/")
    build = httpx.get(f"{access_url}/api/v2/buildinfo", timeout=10).json()
    version = PlatformBinaries.installed().coder_version
    assert build["version"].startswith(f"v{version}"), build
    bao = node_stack.platform.openbao
    record = bao.read_kv(CONFIG.vault.oidc_client_secret_path) or {}
    with node_stack.client() as client:
        pod = _coder_pod(client)
        assert pod is not None and pod["status"]["phase"] == "Running"
        [container] = pod["spec"]["containers"]
        assert container["image"] == coder_image_name(version)
        env = {e["name"]: e for e in container["env"]}
        assert env["CODER_PG_CONNECTION_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": app_secret_name(CLUSTER),
            "key": DB_URI_KEY,
        }
        # This OpenBao's client: the issuer named by the node's address, the id it chose.
        assert env["CODER_OIDC_ISSUER_URL"]["value"] == record[OIDC_ISSUER_URL_KEY]
        assert env["CODER_OIDC_CLIENT_ID"]["value"] == record[OIDC_CLIENT_ID_KEY]
        node_ip = node_stack.platform.local_node.node_ip
        assert record[OIDC_ISSUER_URL_KEY].startswith(f"http://{node_ip}:"), record
        # Coder fetched the issuer's discovery document at start: it signs in through OpenBao.
        methods = httpx.get(f"{access_url}/api/v2/users/authmethods", timeout=10).json()
        assert methods["oidc"]["enabled"] is True, methods
        # OpenBao redirects a sign-in back to this Coder too, not only to the host's.
        registered = bao.request("GET", f"identity/oidc/client/{OIDC_CLIENT}")["data"]
        assert f"{access_url}/api/v2/users/oidc/callback" in registered["redirect_uris"]
        probe = _probe(client)
        users = set(
            probe.must("SELECT username FROM users WHERE NOT deleted AND NOT is_system").split()
        )
        templates = probe.must("SELECT name FROM templates WHERE NOT deleted").split()
        licenses = probe.must("SELECT jwt FROM licenses").split()
        members = probe.must(
            "SELECT g.name || ':' || u.username FROM group_members m "
            "JOIN groups g ON g.id = m.group_id JOIN users u ON u.id = m.user_id",
        ).split()
        acl = probe.must(
            "SELECT g.name || '=' || (t.group_acl -> g.id::text)::text FROM templates t "
            "JOIN groups g ON t.group_acl ? g.id::text",
        ).splitlines()
    admin = bao.read_kv(CONFIG.vault.bootstrap_admin_path) or {}
    assert users == {admin[ADMIN_USERNAME_KEY], *_seeded_users()}
    assert templates == list(CONFIG.seeding.templates)
    assert CONFIG.seeding.license is not None
    seeded = (bao.read_kv(CONFIG.seeding.license.vault_path) or {}).get(LICENSE_KEY)
    same_license = licenses == [seeded]
    assert same_license, "the license in Coder's database is not the one OpenBao holds"
    for group in CONFIG.seeding.groups:
        assert {m.split(":")[1] for m in members if m.startswith(f"{group.name}:")} == set(
            group.members
        )
    # The stack's access (platform-team: admin, everyone: use) as Coder stores a template's
    # group ACL: group id -> actions, "*" for admin, the Everyone group's id is the org's.
    granted = {name: json.loads(actions) for name, actions in (a.split("=", 1) for a in acl)}
    assert granted == {"platform-team": ["*"], "Everyone": ["read", "use"]}, acl


def test_a_second_reconcile_changes_nothing(node_stack: NodeStack) -> None:
    run = node_stack.reconcile()
    assert run.exit_code == ExitCode.OK, (run.report.get("drifted"), run.stderr[-3000:])
    # Not one write to Coder, and the chart's Coder passed the runner's checks.
    assert run.report["coder_writes"] == []
    assert run.report["coder"]["writes_by_runner"] == 0
    assert all(check["ok"] for check in run.report["coder"]["checks"]), run.report["coder"]


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


# The reconciler's login to OpenBao, as its CronJob's pod would make it
# (automation.observe.dependencies): its service account's token through the Kubernetes auth
# role `up --node` configured against this node's API server (localplatform.openbao_kubernetes),
# to OpenBao's address on the node (a pod's 127.0.0.1 is its own). The node stack declares no
# reconciler yet, so the test creates the service account its component would
# (components/reconciler, the name and namespace the role is bound to).
def _service_account_token(client: httpx.Client, namespace: str, name: str) -> str:
    kubeapply.apply(
        client,
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            },
        ],
    )
    return service_account_token(client, namespace, name)


def test_the_reconcilers_service_account_logs_in_to_openbao_and_reads_only_its_inputs(
    node_stack: NodeStack,
) -> None:
    login = ReconcilerLogin.of(CONFIG)
    with node_stack.client() as client:
        jwt = _service_account_token(client, login.namespace, login.service_account)
        other = _service_account_token(client, login.namespace, "not-the-reconciler")
    bao = node_stack.platform.openbao.issuer_base
    auth = f"{bao}/v1/auth/{login.mount}/login"
    answer = httpx.post(auth, json={"role": login.role, "jwt": jwt}, timeout=10)
    assert answer.status_code == 200, answer.text
    token = answer.json()["auth"]["client_token"]
    # The policy the program wrote through the api provider (components.vault).
    assert login.role in answer.json()["auth"]["policies"]
    headers = {"X-Vault-Token": token}
    mount = CONFIG.vault.kv_mount
    inputs = httpx.get(
        f"{bao}/v1/{mount}/data/{CONFIG.vault.bootstrap_admin_path}", headers=headers, timeout=10
    )
    assert inputs.status_code == 200, inputs.text
    outside = httpx.get(f"{bao}/v1/{mount}/data/not-an-input", headers=headers, timeout=10)
    assert outside.status_code == 403
    refused = httpx.post(auth, json={"role": login.role, "jwt": other}, timeout=10)
    assert refused.status_code in (400, 403), refused.text
    assert "service account name not authorized" in refused.text


# The restore drill in the cluster: its CronJob's pod runs the runner image built from the
# project's Dockerfile, and reads Coder's own tables (users, templates) restored from the
# archive: the chart's Coder keeps them in this CNPG database.
DRILL = CONFIG.restore_drill
DRILL_JOB = "drill-manual"


def _probe(client: httpx.Client) -> CnpgProbe:
    psql = PlatformBinaries.installed().postgres_bin / "psql"
    return CnpgProbe(client, NAMESPACE, CLUSTER, psql)


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
        probe = _probe(client)
        # What the seed wrote is in an archived segment before the drill restores.
        probe.archive_current_wal()
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
        # Coder's users: the automation identity and the stack's; its one template.
        assert CONFIG.seeding is not None
        assert line["users"] == len(_seeded_users()) + 1, line
        assert line["templates"] == len(CONFIG.seeding.templates), line
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


# The reconciler CronJob on the node: a Job from it heals a hand change and the next converges,
# each report read from its pod's log; the host's next run finds the same state converged.
RECONCILER = CONFIG.reconciler


def _reconcile_in_the_cluster(client: httpx.Client, name: str) -> tuple[int, dict[str, Any]]:
    """A Job from the reconciler's CronJob: its container's exit code and its JSON report."""
    assert RECONCILER is not None
    namespace = RECONCILER.namespace
    [cron_job] = client.get(f"/apis/batch/v1/namespaces/{namespace}/cronjobs").json()["items"]
    created = client.post(
        f"/apis/batch/v1/namespaces/{namespace}/jobs", json=_job_from_cron_job(cron_job, name)
    )
    assert created.status_code == 201, created.text

    def finished() -> dict[str, Any] | None:
        job = client.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}").json()
        status: dict[str, Any] = job.get("status") or {}
        return status if status.get("succeeded") or status.get("failed") else None

    wait_for(finished, f"Job {namespace}/{name} finished", 900)
    [pod] = client.get(
        f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": f"job-name={name}"}
    ).json()["items"]
    [state] = pod["status"]["containerStatuses"]
    code = int(state["state"]["terminated"]["exitCode"])
    # kubectl logs job/<name>: the pod's log through the API server.
    log = client.get(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/log").text
    reports = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert reports, log[-3000:]
    return code, reports[-1]


def test_a_job_from_the_reconciler_cron_job_heals_a_hand_change_and_the_next_converges(
    node_stack: NodeStack,
) -> None:
    assert RECONCILER is not None and RECONCILER.suspend
    # `up` writes the pod's Secret once the first reconcile has created the namespace.
    node_stack.platform.write_node_state_secret()
    drill = f"/apis/batch/v1/namespaces/{DRILL.namespace}/cronjobs"
    with node_stack.client() as client:
        [cron_job] = client.get(drill).json()["items"]
        name = cron_job["metadata"]["name"]
        # The hand change: an object the stack owns, in a namespace the reconciler writes.
        deleted = client.delete(f"{drill}/{name}")
        assert deleted.status_code == 200, deleted.text
        wait_for(lambda: client.get(f"{drill}/{name}").status_code == 404, f"{name} deleted", 60)

        code, report = _reconcile_in_the_cluster(client, "reconcile-heal")
        assert code == ExitCode.HEALED, json.dumps(report)[-3000:]
        assert report["exit_code"] == ExitCode.HEALED
        assert any("vault" in note.lower() for note in report.get("notes", [])), report
        assert client.get(f"{drill}/{name}").status_code == 200, "the CronJob is not back"

        code, report = _reconcile_in_the_cluster(client, "reconcile-converged")
        assert code == ExitCode.OK, json.dumps(report)[-3000:]
    # The host's runs and the pod's share the state: the host finds nothing to do either.
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
