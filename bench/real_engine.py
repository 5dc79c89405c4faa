"""The real Pulumi engine on the local stack: one loopback cluster, one project copy per run.

Each number is the wall time of ``python -m automation <command> --stack local`` as a user or
the CronJob runs it (process start, program, engine, Kubernetes API), reusing the integration
tier's cluster, project copy and runner. A run whose exit code or outcome is not the expected
one is reported as an error, never as a number.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from automation.outcome import Outcome
from bench.measure import Measurement, timed
from coder_platform.contracts import ExitCode
from localkube.cluster import ClusterStartError, LocalCluster, local_cluster, pinned_crd_versions
from testbed.project import (
    CRONJOB,
    SCHEDULED_BACKUP,
    Project,
    ToolchainMissingError,
    copy_project,
    read_toolchain_env,
)

Progress = Callable[[str], None]

UP = "up (first deploy)"
PREVIEW = "preview"
NOOP = "reconcile, no-op"
HEAL = "reconcile, heal after delete"


class RealEngineUnavailableError(RuntimeError):
    """The toolchain or the loopback cluster is missing; nothing was measured."""


@dataclass(frozen=True)
class RealEngineResult:
    pulumi_version: str
    cluster_start: Measurement
    measurements: list[Measurement]

    def baseline(self) -> Measurement | None:
        """The no-op reconcile every real-engine number is divided by."""
        return next((m for m in self.measurements if m.name == NOOP), None)


def toolchain_env() -> dict[str, str]:
    """The environment with the cached toolchain on PATH (the integration tier's own lookup)."""
    try:
        return read_toolchain_env()
    except ToolchainMissingError as missing:
        raise RealEngineUnavailableError(str(missing)) from None


def pulumi_version(env: dict[str, str]) -> str:
    bin_dir = Path(env["PATH"].split(os.pathsep)[0])
    out = subprocess.run(
        [str(bin_dir / "pulumi"), "version"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return out.stdout.strip() or f"unknown (pulumi version exited {out.returncode})"


def measure(repeat: int, progress: Progress) -> RealEngineResult:
    """Deploy once, then ``repeat`` rounds of preview, no-op reconcile and heal reconcile.

    Rounds interleave the three so load from other tenants of a shared machine falls on all
    of them alike, which keeps the ratios honest.
    """
    env = toolchain_env()
    version = pulumi_version(env)
    bin_dir = Path(env["PATH"].split(os.pathsep)[0])
    with tempfile.TemporaryDirectory(prefix="coder-platform-bench-") as tmp:
        root = Path(tmp)
        (root / "cluster").mkdir()
        (root / "project").mkdir()
        progress("real engine: starting the loopback cluster (etcd, kube-apiserver, CNPG CRDs)")
        cluster_start = Measurement(
            "loopback cluster start", note="setup: etcd, kube-apiserver, CRDs", comparable=False
        )
        started = time.perf_counter()
        try:
            with local_cluster(root / "cluster", bin_dir, pinned_crd_versions(), env) as cluster:
                cluster_start.samples.append(time.perf_counter() - started)
                project = Project(
                    copy_project(root / "project"), {**env, "KUBECONFIG": str(cluster.kubeconfig)}
                )
                measurements = _rounds(project, cluster, repeat, progress)
        except ClusterStartError as error:
            raise RealEngineUnavailableError(
                f"the loopback cluster did not start: {error}"
            ) from None
    return RealEngineResult(version, cluster_start, measurements)


def _rounds(
    project: Project, cluster: LocalCluster, repeat: int, progress: Progress
) -> list[Measurement]:
    up = Measurement(UP, note="once: creates every resource")
    preview = Measurement(PREVIEW, note="with the policy pack")
    noop = Measurement(NOOP, note="refresh, up, verify: nothing to do")
    heal = Measurement(HEAL, note="CronJob + ScheduledBackup deleted first (untimed)")
    measurements = [up, preview, noop, heal]

    progress("real engine: up (first deploy)")
    if not _sample(project, up, "up", ExitCode.OK):
        for skipped in (preview, noop, heal):
            skipped.error = "not run: the first deploy failed"
        return measurements
    for round_ in range(1, repeat + 1):
        progress(f"real engine: round {round_}/{repeat}: preview, no-op reconcile, heal")
        _sample(project, preview, "preview", ExitCode.OK)
        _sample(project, noop, "reconcile", ExitCode.OK, Outcome.CONVERGED)
        if heal.error is None:
            try:
                cluster.delete(CRONJOB)
                cluster.delete(SCHEDULED_BACKUP)
            except httpx.HTTPError as error:
                heal.error = f"deleting the CronJob and ScheduledBackup failed: {error}"
                continue
            _sample(project, heal, "reconcile", ExitCode.HEALED, Outcome.HEALED)
    return measurements


def _sample(
    project: Project,
    into: Measurement,
    command: str,
    expected: ExitCode,
    outcome: Outcome | None = None,
) -> bool:
    """Time one run into ``into``; on an unexpected result record why and stop sampling it."""
    if into.error is not None:
        return False
    run, seconds = timed(lambda: project.run(command))
    got = run.report.get("outcome", "no report")
    if run.exit_code != expected or (outcome is not None and got != outcome):
        last = (run.stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
        into.error = (
            f"`{command}` exited {run.exit_code} ({got}), expected {int(expected)}"
            f"{f' ({outcome})' if outcome else ''}: {last}"
        )
        return False
    into.samples.append(seconds)
    into.runner_seconds.append(float(run.report.get("duration_seconds", 0.0)))
    return True
