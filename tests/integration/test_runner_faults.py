"""The faults a user hits, on the real engine against the loopback cluster (local stack).

- ``drift`` reports drift and only drift: a deleted ScheduledBackup is ``deleted: true``; a
  config-only change is pending (exit 0), not drift;
- a failed run's report names the failing URN with the API server's message;
- verify does not call the stack converged while an object it owns is terminating;
- a run killed mid-act leaves no process behind, and the next run converges following only what
  the runner printed; a lock left by a CLI killed hard is named with a command that works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from coder_platform.contracts import ExitCode
from localkube.cluster import LocalCluster, local_cluster, pinned_crd_versions
from testbed.project import Project, Run

pytestmark = pytest.mark.integration

STACK = "kube"  # the Kubernetes parts of the local stack, without its OpenBao and Coder
CRONJOB = f"/apis/batch/v1/namespaces/coder-reconciler/cronjobs/coder-reconciler-{STACK}"
SCHEDULED_BACKUP = (
    "/apis/postgresql.cnpg.io/v1/namespaces/coder-db/scheduledbackups/coder-db-base-backup"
)
VAP = "/apis/admissionregistration.k8s.io/v1"
MARK = "CODER_PLATFORM_TEST_RUN"


@pytest.fixture(scope="module")
def cluster(
    toolchain_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    """A cluster of this module's own: its tests delete, block and hold objects."""
    bin_dir = Path(toolchain_env["PATH"].split(os.pathsep)[0])
    with local_cluster(
        tmp_path_factory.mktemp("faults-cluster"), bin_dir, pinned_crd_versions(), toolchain_env
    ) as running:
        yield running


@pytest.fixture(scope="module")
def deployed(project: Project) -> Project:
    """The local stack's Kubernetes parts as stack ``kube`` (same salt and passphrase)."""
    stacks = project.work_dir / "stacks"
    # The project copy's local stack is already Kubernetes-only (testbed.project.copy_project).
    shutil.copy(stacks / "Pulumi.local.yaml", stacks / f"Pulumi.{STACK}.yaml")
    run = project.run("up", STACK)
    assert run.exit_code == 0, run.stderr[-3000:]
    return project


def converge(project: Project) -> None:
    """Bring the stack back for the next test: heal, then a no-op."""
    healed = project.run("reconcile", STACK)
    assert healed.exit_code in (ExitCode.OK, ExitCode.HEALED), healed.stderr[-3000:]
    again = project.run("reconcile", STACK)
    assert again.exit_code == ExitCode.OK, again.stderr[-3000:]


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def marked_processes(mark: str) -> list[str]:
    """Command lines of every process started with ``MARK=mark`` in its environment."""
    found: list[str] = []
    needle = f"{MARK}={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            if stat[0] == "Z":
                continue
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def marked(project: Project) -> tuple[Project, str]:
    mark = uuid.uuid4().hex
    return Project(project.work_dir, {**project.env, MARK: mark}), mark


@contextmanager
def cronjobs_refused(cluster: LocalCluster) -> Iterator[None]:
    """A ValidatingAdmissionPolicy that refuses CronJobs: the API server's own "no"."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "test-deny-cronjobs"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["batch"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["cronjobs"],
                    }
                ]
            },
            "validations": [{"expression": "false", "message": "test policy denies cronjobs"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "test-deny-cronjobs"},
        "spec": {"policyName": "test-deny-cronjobs", "validationActions": ["Deny"]},
    }
    with cluster.client() as client:
        client.post(f"{VAP}/validatingadmissionpolicies", json=policy).raise_for_status()
        client.post(f"{VAP}/validatingadmissionpolicybindings", json=binding).raise_for_status()
    time.sleep(2)  # the admission plugin picks policies up from its informer
    try:
        yield
    finally:
        with cluster.client() as client:
            client.delete(f"{VAP}/validatingadmissionpolicybindings/test-deny-cronjobs")
            client.delete(f"{VAP}/validatingadmissionpolicies/test-deny-cronjobs")
        time.sleep(2)


def test_drift_reports_a_scheduled_backup_deleted_in_the_cluster_as_deleted(
    deployed: Project, cluster: LocalCluster
) -> None:
    cluster.delete(SCHEDULED_BACKUP)

    drift = deployed.run("drift", STACK)

    assert drift.exit_code == ExitCode.DRIFT, drift.stderr[-3000:]
    [backup] = [
        d for d in drift.report["drifted"] if d["urn"].endswith("::coder-db-scheduled-backup")
    ]
    assert backup["deleted"] is True
    assert backup["type"] == "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
    assert drift.report["pending"] == []
    converge(deployed)


def test_a_config_only_change_is_pending_not_drift_when_nothing_changed_in_the_cluster(
    deployed: Project,
) -> None:
    stack_file = deployed.work_dir / "stacks" / f"Pulumi.{STACK}.yaml"
    original = stack_file.read_text()
    assert "intervalMinutes: 30" in original
    stack_file.write_text(original.replace("intervalMinutes: 30", "intervalMinutes: 15"))
    try:
        drift = deployed.run("drift", STACK)
    finally:
        stack_file.write_text(original)

    assert drift.exit_code == ExitCode.OK, drift.stderr[-3000:]
    assert drift.report["outcome"] == "pending"
    assert drift.report["drifted"] == []
    pending = {p["urn"].rsplit("::", 1)[-1]: p["properties"] for p in drift.report["pending"]}
    assert set(pending) == {"reconciler-cron-job"}
    assert "spec.schedule" in pending["reconciler-cron-job"]


def test_a_failed_run_report_names_the_failing_urn_and_the_api_servers_message(
    deployed: Project, cluster: LocalCluster
) -> None:
    with cronjobs_refused(cluster):
        cluster.delete(CRONJOB)
        failed = deployed.run("reconcile", STACK)

    converge(deployed)
    assert failed.exit_code == ExitCode.UPDATE_FAILED, failed.stderr[-3000:]
    names = {f["urn"].rsplit("::", 1)[-1]: f for f in failed.report["failed"]}
    assert "reconciler-cron-job" in names, failed.report["failed"]
    cron = names["reconciler-cron-job"]
    assert cron["type"] == "kubernetes:batch/v1:CronJob"
    assert any("test policy denies cronjobs" in m for m in cron["messages"])
    assert "reconciler-cron-job" in failed.report["error"]["message"]


def test_the_stack_heals_once_the_api_server_accepts_again(
    deployed: Project, cluster: LocalCluster
) -> None:
    with cronjobs_refused(cluster):
        cluster.delete(CRONJOB)
        refused = deployed.run("reconcile", STACK)
        assert refused.exit_code == ExitCode.UPDATE_FAILED, refused.stderr[-3000:]
        assert cluster.get(CRONJOB) is None

    healed = deployed.run("reconcile", STACK)

    assert healed.exit_code == ExitCode.HEALED, healed.stderr[-3000:]
    assert cluster.get(CRONJOB) is not None
    again = deployed.run("reconcile", STACK)
    assert again.exit_code == ExitCode.OK, again.stderr[-3000:]


def test_verify_is_not_converged_while_an_object_the_stack_owns_is_terminating(
    deployed: Project, cluster: LocalCluster
) -> None:
    # A finalizer no controller removes keeps the object Terminating, as the missing garbage
    # collector once kept a replaced StorageClass.
    cluster.merge_patch(SCHEDULED_BACKUP, {"metadata": {"finalizers": ["example.com/hold"]}})
    cluster.delete(SCHEDULED_BACKUP)
    try:
        stuck = deployed.run("reconcile", STACK)
        assert stuck.exit_code == ExitCode.NOT_CONVERGED, stuck.stderr[-3000:]
        assert "coder-db-scheduled-backup" in stuck.report["error"]["message"]
        assert [t["urn"].rsplit("::", 1)[-1] for t in stuck.report["terminating"]] == [
            "coder-db-scheduled-backup"
        ]
    finally:
        cluster.merge_patch(SCHEDULED_BACKUP, {"metadata": {"finalizers": None}})
    assert wait_for(lambda: cluster.get(SCHEDULED_BACKUP) is None, 30)

    healed = deployed.run("reconcile", STACK)
    assert healed.exit_code == ExitCode.HEALED, healed.stderr[-3000:]
    assert cluster.get(SCHEDULED_BACKUP) is not None
    converge(deployed)


def follow_printed_advice(project: Project, attempts: int = 3) -> Run:
    """Rerun reconcile, doing only what each locked run printed, until it stops saying so."""
    run = project.run("reconcile", STACK)
    for _ in range(attempts):
        if run.exit_code != ExitCode.LOCKED:
            return run
        action = run.report["error"]["action"]
        commands = re.findall(r"`([^`]+)`", action)
        assert commands, f"a locked run printed no command: {action}"
        done = subprocess.run(
            ["bash", "-c", commands[0]],
            env=project.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"the printed command failed: {done.stderr}"
        run = project.run("reconcile", STACK)
    return run


def start_acting(project: Project) -> subprocess.Popen[str]:
    """A reconcile with work to do, returned once its update is under way."""
    runner = project.start("reconcile", STACK)
    assert runner.stderr is not None
    acting = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = runner.stderr.readline()
        if not line:
            break
        event = json.loads(line) if line.startswith("{") else {}
        acting = acting or (event.get("kind") == "phase" and event.get("phase") == "act")
        if acting and event.get("kind") == "step":
            return runner
    runner.kill()
    pytest.fail("the reconcile never started to act")


def test_a_runner_killed_mid_act_leaves_nothing_running_and_the_next_run_converges(
    deployed: Project, cluster: LocalCluster
) -> None:
    project, mark = marked(deployed)
    cluster.delete(CRONJOB)
    runner = start_acting(project)
    assert marked_processes(mark), "the runner's process tree carries the mark"

    runner.send_signal(signal.SIGKILL)
    runner.communicate(timeout=60)

    left = wait_for(lambda: not marked_processes(mark), 90)
    assert left, f"processes outlived the killed run: {marked_processes(mark)}"
    final = follow_printed_advice(project)
    assert final.exit_code in (ExitCode.OK, ExitCode.HEALED), final.stderr[-3000:]
    assert cluster.get(CRONJOB) is not None
    assert project.run("reconcile", STACK).exit_code == ExitCode.OK


def lock_files(project: Project) -> list[Path]:
    locks = project.work_dir / ".pulumi-state" / ".pulumi" / "locks"
    return sorted(locks.rglob("*.json"))


def test_a_lock_left_by_a_cli_killed_hard_is_named_with_a_command_that_clears_it(
    deployed: Project, cluster: LocalCluster
) -> None:
    project, mark = marked(deployed)
    cluster.delete(CRONJOB)
    runner = start_acting(project)
    assert wait_for(lambda: bool(lock_files(project)), 60), "the update never took its lock"
    holder = json.loads(lock_files(project)[0].read_text())

    os.kill(int(holder["pid"]), signal.SIGKILL)  # the CLI itself, as an OOM kill would
    runner.communicate(timeout=300)

    assert wait_for(lambda: not marked_processes(mark), 60), marked_processes(mark)
    locked = project.run("reconcile", STACK)
    assert locked.exit_code == ExitCode.LOCKED, locked.stderr[-3000:]
    message = locked.report["error"]["message"]
    assert f"pid {holder['pid']} on this host, which is no longer running" in message
    final = follow_printed_advice(project)
    assert final.exit_code in (ExitCode.OK, ExitCode.HEALED), final.stderr[-3000:]
    assert not lock_files(project)
    converge(project)
