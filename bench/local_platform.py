"""The whole mission on loopback: the runner with a real Coder on (the e2e stack on a local
platform of its own), each number a ratio to a bare preview of the same stack in the same run.

Rows: the platform's start (setup, no ratio), the first reconcile (seeds Coder), a no-op
reconcile with Coder on, and the DB-reset heal: Coder's database dropped and recreated, Coder
restarted (untimed), then the one reconcile that re-seeds everything (timed). A run whose exit
code is not the expected one is reported as an error, never as a number.

The main job: ``scripts/reconcile`` itself (venvs, the install scripts, ``localplatform up``,
the runner, the summary) on the same converged stack, from the same project copy (its scripts,
runner and rigs copied in, the virtualenvs linked) and pointed at this platform through the
``LOCALPLATFORM_*`` variables; its ratio is to the runner alone (the no-op row) in the same
rounds, so the overhead around the runner reads as one number.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measurement, timed
from coder_platform.contracts import ExitCode
from localplatform.daemon import PartError
from testbed.mission import ROOT, STACK, Mission, start_mission

Progress = Callable[[str], None]
PREVIEW = "preview (Coder on)"
NOOP = "reconcile, no-op (Coder on)"
MAIN_JOB = "scripts/reconcile, converged"
# What scripts/reconcile runs beyond the program's files the mission already copied.
MAIN_JOB_FILES = (
    "automation",
    "localkube",
    "localplatform",
    "scripts",
    "tools",
    "requirements.txt",
    "requirements-dev.txt",
)


class LocalPlatformUnavailableError(RuntimeError):
    """The platform's servers are not built or did not start; nothing was measured."""


@dataclass(frozen=True)
class LocalPlatformResult:
    start: Measurement
    measurements: list[Measurement]

    def baseline(self) -> Measurement | None:
        return next((m for m in self.measurements if m.name == PREVIEW), None)

    def main_job(self) -> list[Measurement]:
        """The runner alone (the no-op row) and scripts/reconcile, for a section of their own."""
        return [m for m in self.measurements if m.name in (NOOP, MAIN_JOB)]


def measure(repeat: int, progress: Progress) -> LocalPlatformResult:
    with tempfile.TemporaryDirectory(prefix="coder-platform-bench-platform-") as tmp:
        progress("local platform: starting kube, PostgreSQL, OpenBao and Coder")
        start = Measurement(
            "local platform start", note="setup: four servers, Coder's migrations", comparable=False
        )
        started = time.perf_counter()
        try:
            mission = start_mission(Path(tmp))
        except PartError as error:
            raise LocalPlatformUnavailableError(str(error)) from None
        start.samples.append(time.perf_counter() - started)
        try:
            return LocalPlatformResult(start, _rounds(mission, repeat, progress))
        finally:
            mission.platform.down()


def _rounds(mission: Mission, repeat: int, progress: Progress) -> list[Measurement]:
    seed = Measurement("reconcile, first seed", note="once: first user, token, template, users")
    preview = Measurement(PREVIEW, note="with the policy pack")
    noop = Measurement(NOOP, note="zero Coder writes; the runner alone")
    main_job = Measurement(MAIN_JOB, note="venvs, install scripts, up, runner, summary")
    heal = Measurement("reconcile, DB-reset heal", note="Coder's database wiped first (untimed)")
    measurements = [seed, preview, noop, main_job, heal]
    progress("local platform: first reconcile (seeds Coder)")
    if not _sample(mission, seed, "reconcile", ExitCode.HEALED):
        for skipped in (preview, noop, main_job, heal):
            skipped.error = "not run: the first seed failed"
        return measurements
    main_job_env = _prepare_main_job(mission)
    for round_ in range(1, repeat + 1):
        progress(
            f"local platform: round {round_}/{repeat}: preview, no-op, main job, DB-reset heal"
        )
        _sample(mission, preview, "preview", ExitCode.OK)
        _sample(mission, noop, "reconcile", ExitCode.OK)
        _sample_main_job(mission, main_job, main_job_env)
        if heal.error is None:
            try:
                mission.platform.reset_coder_database()
            except PartError as error:
                heal.error = f"the database reset failed: {error}"
                continue
            _sample(mission, heal, "reconcile", ExitCode.HEALED)
    return measurements


def _sample(mission: Mission, into: Measurement, command: str, expected: ExitCode) -> bool:
    if into.error is not None:
        return False
    run, seconds = timed(lambda: mission.run(command))
    if run.exit_code != expected:
        last = (run.stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
        into.error = f"`{command}` exited {run.exit_code}, expected {int(expected)}: {last}"
        return False
    into.samples.append(seconds)
    into.runner_seconds.append(float(run.report.get("duration_seconds", 0.0)))
    return True


def _prepare_main_job(mission: Mission) -> dict[str, str]:
    """Copy what scripts/reconcile runs into the mission's project, link the virtualenvs, and
    return the environment that points it at the mission's platform and stack."""
    for name in MAIN_JOB_FILES:
        source, target = ROOT / name, mission.work_dir / name
        if source.is_dir():
            shutil.copytree(
                source,
                target,
                ignore=shutil.ignore_patterns(".venv", "__pycache__"),
                dirs_exist_ok=True,
            )
        else:
            shutil.copy2(source, target)
    (mission.work_dir / ".venv").symlink_to(ROOT / ".venv")
    platform = mission.platform
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "VAULT_"))},
        "LOCALPLATFORM_STACK": STACK,
        "LOCALPLATFORM_DIR": str(platform.directory),
        "LOCALPLATFORM_KUBE_DIR": str(platform.kube_dir),
        "LOCALPLATFORM_CODER_PORT": str(platform.coder_port),
        "LOCALPLATFORM_OPENBAO_PORT": str(platform.openbao_port),
    }


def _sample_main_job(mission: Mission, into: Measurement, env: dict[str, str]) -> None:
    if into.error is not None:
        return
    command = [str(mission.work_dir / "scripts" / "reconcile"), "--output", "json"]
    out, seconds = timed(
        lambda: subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=900, check=False
        )
    )
    if out.returncode != ExitCode.OK:
        last = (out.stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
        into.error = f"scripts/reconcile exited {out.returncode}, expected 0: {last}"
        return
    into.samples.append(seconds)
    report = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
    into.runner_seconds.append(float(report.get("duration_seconds", 0.0)))
