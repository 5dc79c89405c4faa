"""The faults a user hits, on the real engine against the loopback cluster (local stack).

- ``drift`` reports drift and only drift: a deleted ScheduledBackup is ``deleted: true``; a
  config-only change is pending (exit 0), not drift;
- a failed run's report names the failing URN with the API server's message;
- verify does not call the stack converged while an object it owns is terminating;
- a run killed mid-act leaves no process behind, and the next run converges following only what
  the runner printed; a lock left by a CLI killed hard is named with a command that works;
- in a "pod" (the runner as PID 1 of its own PID namespace, as in a Job's container): SIGTERM
  mid-act (the kubelet at a deadline or a drain) releases the lock within the grace period and the
  next run converges; a pod killed outright (SIGKILL, OOM) leaves its lock, and the next
  in-cluster run, with the CronJob's own command, breaks it and converges with no human step.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automation.engine.locks import parse_duration
from coder_platform.contracts import ExitCode
from coder_platform.run_limits import TERMINATION_GRACE_SECONDS
from localkube.cluster import LocalCluster, local_cluster, pinned_crd_versions
from testbed.project import ROOT, Project, Run

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


def start_acting(
    project: Project, runner: subprocess.Popen[str] | None = None
) -> subprocess.Popen[str]:
    """A reconcile with work to do, returned once its update is under way."""
    runner = runner or project.start("reconcile", STACK)
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


def in_a_pod(project: Project, command: list[str], hostname: str) -> subprocess.Popen[str]:
    """``command`` as a Job's container runs it: PID 1 of a PID namespace of its own (with its
    own /proc), under a hostname of its own (every Job pod has a new one)."""
    script = f"hostname {shlex.quote(hostname)} && exec {shlex.join(command)}"
    return subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--uts", "bash", "-c", script],
        cwd=ROOT,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pid_one(pod: subprocess.Popen[str]) -> int:
    """The host PID of the pod's PID 1 (unshare --fork's only child)."""
    children = Path(f"/proc/{pod.pid}/task/{pod.pid}/children").read_text().split()
    [child] = children
    status = Path(f"/proc/{child}/status").read_text()
    [nspid] = [line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")]
    assert nspid[-1] == "1", f"the runner is not PID 1 in its namespace: {nspid}"
    return int(child)


def cronjob_command(cluster: LocalCluster, project: Project) -> list[str]:
    """The live CronJob's command, runnable here (this interpreter, this project copy)."""
    cron = cluster.get(CRONJOB)
    assert cron is not None, "the stack's CronJob is not deployed"
    [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    command = list(container["command"])
    assert command[:3] == ["python", "-m", "automation"]
    return [sys.executable, *command[1:], "--work-dir", str(project.work_dir), "--output", "json"]


def test_sigterm_to_the_runner_as_pid_1_releases_the_lock_within_the_grace_period(
    deployed: Project, cluster: LocalCluster
) -> None:
    project, mark = marked(deployed)
    command = project.command("reconcile", STACK)
    cluster.delete(CRONJOB)
    pod = start_acting(project, in_a_pod(project, command, "reconciler-pod-term"))
    assert wait_for(lambda: bool(lock_files(project)), 60), "the update never took its lock"
    runner = pid_one(pod)

    os.kill(runner, signal.SIGTERM)  # what the kubelet sends first
    started = time.monotonic()
    stdout, _ = pod.communicate(timeout=TERMINATION_GRACE_SECONDS)

    assert time.monotonic() - started < TERMINATION_GRACE_SECONDS
    assert pod.returncode == ExitCode.NOT_CONVERGED
    report = json.loads(stdout)
    assert "stopped (SIGTERM)" in report["error"]["message"]
    assert lock_files(project) == [], "the stack lock outlived the stopped run"
    assert not marked_processes(mark), marked_processes(mark)
    after = project.run("reconcile", STACK)  # no flag, no human step
    assert after.exit_code in (ExitCode.OK, ExitCode.HEALED), after.stderr[-3000:]
    assert cluster.get(CRONJOB) is not None
    converge(project)


def test_a_pod_killed_mid_run_is_recovered_by_the_next_in_cluster_run_with_no_human_step(
    deployed: Project, cluster: LocalCluster
) -> None:
    project, mark = marked(deployed)
    scheduled = cronjob_command(cluster, project)
    stale_after = parse_duration(scheduled[scheduled.index("--break-stale-lock-after") + 1])
    cluster.delete(CRONJOB)
    pod = start_acting(project, in_a_pod(project, project.command("reconcile", STACK), "pod-a"))
    assert wait_for(lambda: bool(lock_files(project)), 60), "the update never took its lock"

    os.kill(pid_one(pod), signal.SIGKILL)  # OOM kill: the kernel ends the whole namespace
    pod.communicate(timeout=60)

    assert wait_for(lambda: not marked_processes(mark), 30), marked_processes(mark)
    [lock] = lock_files(project)
    held = json.loads(lock.read_text())
    assert held["hostname"] == "pod-a"
    # The next scheduled run comes once the lock is older than the CronJob's bound.
    held["timestamp"] = (datetime.now(UTC) - stale_after - timedelta(minutes=1)).isoformat()
    lock.write_text(json.dumps(held))
    next_pod = in_a_pod(project, scheduled, "pod-b")
    stdout, stderr = next_pod.communicate(timeout=600)

    assert next_pod.returncode in (ExitCode.OK, ExitCode.HEALED), stderr[-3000:]
    notes = json.loads(stdout)["notes"]
    assert any("removing stale lock" in n and "pod-a" in n for n in notes), notes
    assert lock_files(project) == []
    assert cluster.get(CRONJOB) is not None
    converge(project)
