"""The runner on the real Pulumi engine against a real Kubernetes API server (local stack).

In order: up deploys, the policy pack gates a preview, out-of-band changes are reported by
drift and healed by reconcile, and a second concurrent reconcile is refused with "locked".
"""

from __future__ import annotations

import base64
import json
import shutil
import time

import pytest

from coder_platform.contracts import ExitCode
from localkube.cluster import LocalCluster
from testbed.project import CRONJOB, SCHEDULED_BACKUP, Project

pytestmark = pytest.mark.integration

STORAGE_CLASS = "/apis/storage.k8s.io/v1/storageclasses/coder-premium-lrs-retain"
CLUSTER = "/apis/postgresql.cnpg.io/v1/namespaces/coder-db/clusters/coder-db"
OBJECT_STORE = "/apis/barmancloud.cnpg.io/v1/namespaces/coder-db/objectstores/coder-db-backups"


@pytest.fixture(scope="module")
def deployed(project: Project) -> Project:
    run = project.run("up")
    assert run.exit_code == 0, run.stderr[-3000:]
    return project


def test_up_creates_the_kubernetes_parts_for_real(deployed: Project, cluster: LocalCluster) -> None:
    storage_class = cluster.get(STORAGE_CLASS)
    assert storage_class is not None
    assert storage_class["reclaimPolicy"] == "Retain"
    assert storage_class["provisioner"] == "disk.csi.azure.com"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"

    db = cluster.get(CLUSTER)
    assert db is not None
    assert db["spec"]["storage"]["storageClass"] == "coder-premium-lrs-retain"
    [plugin] = db["spec"]["plugins"]
    assert plugin["isWALArchiver"] is True
    assert plugin["parameters"]["serverName"] == "coder-db-g1"
    assert db["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "coder-db-app"

    store = cluster.get(OBJECT_STORE)
    assert store is not None
    assert store["spec"]["configuration"]["azureCredentials"] == {"inheritFromAzureAD": True}

    backup = cluster.get(SCHEDULED_BACKUP)
    assert backup is not None
    assert backup["spec"]["method"] == "plugin"
    assert len(backup["spec"]["schedule"].split()) == 6

    secret = cluster.get("/api/v1/namespaces/coder-db/secrets/coder-db-app")
    assert secret is not None and set(secret["data"]) >= {"username", "password", "uri"}

    cronjob = cluster.get(CRONJOB)
    assert cronjob is not None
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert spec["successfulJobsHistoryLimit"] == 1
    assert spec["failedJobsHistoryLimit"] == 3
    [container] = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "coder-platform-runner:0.1.0"
    assert container["command"][3:6] == ["reconcile", "--stack", "local"]
    assert container["command"][6] == "--break-stale-lock-after"  # a killed run's lock clears


def test_reconcile_right_after_up_is_a_no_op(deployed: Project) -> None:
    run = deployed.run("reconcile")
    assert run.exit_code == ExitCode.OK, run.stderr[-3000:]
    assert run.report["outcome"] == "converged"
    assert not run.report["changes"]


def test_policy_pack_fails_a_violating_preview_naming_the_policy(deployed: Project) -> None:
    stacks = deployed.work_dir / "stacks"
    violating = stacks / "Pulumi.local-ephemeral.yaml"
    shutil.copy(stacks / "Pulumi.local.yaml", violating)
    text = violating.read_text().replace(
        "    generation: 1\n", "    generation: 1\n    ephemeral: true\n"
    )
    violating.write_text(text)

    run = deployed.run("preview", "local-ephemeral")
    assert run.exit_code == ExitCode.POLICY_VIOLATION, run.stderr[-3000:]
    policies = {v["policy"] for v in run.report["policy_violations"]}
    assert "storage-class-retain" in policies
    assert any("[seeding contract C3]" in v["message"] for v in run.report["policy_violations"])

    compliant = deployed.run("preview")
    assert compliant.exit_code == ExitCode.OK, compliant.stderr[-3000:]
    assert not [v for v in compliant.report["policy_violations"] if v["enforcement"] == "mandatory"]


def test_drift_reports_and_reconcile_restores_out_of_band_changes(
    deployed: Project, cluster: LocalCluster
) -> None:
    cluster.delete(CRONJOB)
    cluster.delete(SCHEDULED_BACKUP)
    cluster.merge_patch(
        STORAGE_CLASS, {"metadata": {"labels": {"coder-platform.io/reclaim-policy": "delete"}}}
    )

    drift = deployed.run("drift")
    assert drift.exit_code == ExitCode.DRIFT, drift.stderr[-3000:]
    drifted = drift.drifted()
    assert {"reconciler-cron-job", "coder-db-scheduled-backup", "database-storage"} <= set(drifted)
    assert drifted["database-storage"] == ['metadata.labels["coder-platform.io/reclaim-policy"]']
    assert cluster.get(CRONJOB) is None  # drift changes nothing

    healed = deployed.run("reconcile")
    assert healed.exit_code == ExitCode.HEALED, healed.stderr[-3000:]
    assert healed.report["outcome"] == "healed"
    assert cluster.get(CRONJOB) is not None
    assert cluster.get(SCHEDULED_BACKUP) is not None
    storage_class = cluster.get(STORAGE_CLASS)
    assert storage_class is not None
    assert storage_class["metadata"]["labels"]["coder-platform.io/reclaim-policy"] == "retain"

    again = deployed.run("reconcile")
    assert again.exit_code == ExitCode.OK, again.stderr[-3000:]
    assert not again.report["changes"]


def test_an_edited_field_is_taken_back(deployed: Project, cluster: LocalCluster) -> None:
    cluster.merge_patch(CRONJOB, {"spec": {"concurrencyPolicy": "Allow"}})
    drift = deployed.run("drift")
    assert drift.exit_code == ExitCode.DRIFT
    assert "spec.concurrencyPolicy" in drift.drifted()["reconciler-cron-job"]

    healed = deployed.run("reconcile")
    assert healed.exit_code == ExitCode.HEALED, healed.stderr[-3000:]
    cronjob = cluster.get(CRONJOB)
    assert cronjob is not None and cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_second_concurrent_reconcile_exits_locked(deployed: Project) -> None:
    first = deployed.start("reconcile")
    try:
        assert first.stderr is not None
        # Wait until the first run is past its start (it holds the lock from there on).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = first.stderr.readline()
            if '"kind": "phase"' in line:
                break
        second = deployed.run("reconcile")
    finally:
        first_out, _ = first.communicate(timeout=300)
    assert second.exit_code == ExitCode.LOCKED, second.stderr[-3000:]
    assert second.report["outcome"] == "locked"
    assert "lock" in json.dumps(second.report["error"]).lower()
    assert first.returncode == ExitCode.OK
    assert json.loads(first_out)["outcome"] == "converged"


def test_no_run_output_or_report_contains_the_database_password(
    deployed: Project, cluster: LocalCluster
) -> None:
    secret = cluster.get("/api/v1/namespaces/coder-db/secrets/coder-db-app")
    assert secret is not None
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) == 32

    cluster.delete(SCHEDULED_BACKUP)  # make the runs print real diffs, not just "nothing"
    outputs = [deployed.run(command) for command in ("drift", "reconcile", "preview")]
    for run in outputs:
        assert password not in run.stderr
        assert password not in json.dumps(run.report)
    for report in (deployed.work_dir / ".reports").rglob("*.json"):
        assert password not in report.read_text()
    state = deployed.work_dir / ".pulumi-state"
    for stored in state.rglob("*.json"):
        assert password not in stored.read_text()  # encrypted at rest, even locally
