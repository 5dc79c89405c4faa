"""The run boundary (``execute``): what is printed where, what is written, and lock recovery.

- JSON output is only the report on stdout, and a reader that goes away (``| head``) does not
  change the run's exit code;
- an unknown ``--stack`` leaves no ``.reports/<name>/`` behind;
- a lock left by a killed run on this host is named as such, with a command that works as
  printed (the backend URL it needs, the fully qualified stack name).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.engine.backend import BackendSettings
from automation.engine.protocol import PolicySettings
from automation.errors import LockHolder
from automation.execute import RunSettings, Streams, execute
from automation.outcome import Outcome
from automation.reconcile import ReconcileOptions, reconcile
from automation.session import Session
from automation.termination import Terminated
from coder_platform import coder_writes
from coder_platform.contracts import CODER_WRITE_LOG_ENV, ExitCode
from coder_platform.redaction import Redactor
from testbed.harness import ROOT
from tests.automation.fakes import FakeDependencies, FakeEngine, converged_world
from tests.automation.runs import managed_environ, run

OPTIONS = ReconcileOptions(policy=PolicySettings(Path("policy")), dependency_deadline_seconds=5)


class ClosedPipe(io.StringIO):
    """stdout after ``| head`` exited: every write fails as a closed pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False


def settings(tmp_path: Path, stack: str = "dev", command: str = "reconcile") -> RunSettings:
    return RunSettings(
        command=command,
        stack=stack,
        work_dir=ROOT,
        report_dir=tmp_path / "reports",
        output="json",
    )


def factory_of(engine: FakeEngine):  # type: ignore[no-untyped-def]
    def factory(
        stack: str, work_dir: Path, backend: BackendSettings, redactor: Redactor
    ) -> FakeEngine:
        return engine

    return factory


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_run_keeps_its_exit_code_when_the_reader_of_stdout_went_away(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    deps = FakeDependencies(site)

    report = execute(
        settings(tmp_path),
        lambda s: reconcile(s, OPTIONS, deps),
        factory_of(engine),
        managed_environ(tmp_path),
        Streams(ClosedPipe(), ClosedPipe()),
    )

    assert report.outcome is Outcome.CONVERGED and report.exit_code == ExitCode.OK
    assert (tmp_path / "reports" / "dev" / "latest.json").exists()


def test_json_output_is_only_the_report_on_stdout_when_the_run_prints_notes(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    stdout, stderr = io.StringIO(), io.StringIO()
    work_dir = tmp_path / "project"  # the embedded backend goes here, not into the checkout
    (work_dir / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", work_dir)
    shutil.copy(ROOT / "stacks" / "Pulumi.local.yaml", work_dir / "stacks")

    execute(
        replace(settings(tmp_path, stack="local", command="drift"), work_dir=work_dir),
        lambda s: Outcome.CONVERGED,
        factory_of(engine),
        {},
        Streams(stdout, stderr),
    )

    document = json.loads(stdout.getvalue())  # exactly one JSON document, nothing else
    assert document["outcome"] == "converged"
    assert "embedded backend" in stderr.getvalue()  # the notes went to stderr


def test_an_unknown_stack_creates_no_report_directory_when_it_is_refused(tmp_path: Path) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()

    report = execute(
        settings(tmp_path, stack="prdo"),
        lambda s: Outcome.CONVERGED,
        factory_of(converged_world()[0]),
        {},
        Streams(stdout, stderr),
    )

    assert report.exit_code == ExitCode.CONFIG_INVALID
    assert "unknown stack 'prdo'" in stderr.getvalue()
    assert not (tmp_path / "reports" / "prdo").exists()
    assert json.loads(stdout.getvalue())["exit_code"] == ExitCode.CONFIG_INVALID


def test_a_lock_of_a_dead_process_on_this_host_is_named_with_a_command_that_works(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    pid = dead_pid()
    engine.visible_locks = [
        LockHolder(
            "/state/.pulumi/locks/organization/coder-platform/dev/9a.json",
            f"runner@{socket.gethostname()}",
            pid,
            datetime.now(UTC) - timedelta(minutes=4),
        )
    ]

    captured = run(engine, lambda s: reconcile(s, OPTIONS, FakeDependencies(site)), tmp_path)

    assert captured.report.exit_code == ExitCode.LOCKED
    error = captured.report.error
    assert error is not None
    assert f"pid {pid} on this host, which is no longer running" in error.message
    backend = managed_environ(tmp_path)["PULUMI_BACKEND_URL"]
    assert (
        f"PULUMI_BACKEND_URL={shlex.quote(backend)} " in error.action
        and " cancel --stack organization/coder-platform/dev --yes" in error.action
    )
    assert "--break-stale-lock-after 0s" in error.action
    assert engine.cancelled == 0  # said, not done


def test_a_live_lock_holder_is_waited_for_and_still_gets_the_working_command(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.visible_locks = [
        LockHolder("9a.json", f"runner@{socket.gethostname()}", os.getpid(), datetime.now(UTC))
    ]

    captured = run(engine, lambda s: reconcile(s, OPTIONS, FakeDependencies(site)), tmp_path)

    error = captured.report.error
    assert error is not None and "no longer running" not in error.message
    assert error.action.startswith("Wait for that run to finish")
    assert "cancel --stack organization/coder-platform/dev --yes" in error.action


def test_a_failed_phase_shows_its_reason_in_the_live_view_when_output_is_human(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.visible_locks = [
        LockHolder("9a.json", "runner@other-pod", 3, datetime.now(UTC) - timedelta(hours=1))
    ]

    captured = run(
        engine,
        lambda s: reconcile(s, OPTIONS, FakeDependencies(site)),
        tmp_path,
        output="human",
    )

    assert "observe: failed (stack dev is locked by another run" in captured.stderr


def body_never_runs(session: Session) -> Outcome:
    raise AssertionError("the body must not run")


def test_a_run_stopped_by_sigterm_still_reports_and_frees_the_host_lock(tmp_path: Path) -> None:
    engine, _ = converged_world()
    stdout, stderr = io.StringIO(), io.StringIO()
    environ = managed_environ(tmp_path)

    def stopped(session: Session) -> Outcome:
        raise Terminated("SIGTERM")

    report = execute(
        settings(tmp_path), stopped, factory_of(engine), environ, Streams(stdout, stderr)
    )

    assert report.outcome is Outcome.NOT_CONVERGED and report.exit_code == ExitCode.NOT_CONVERGED
    assert report.error is not None and "stopped (SIGTERM)" in report.error.message
    assert json.loads(stdout.getvalue())["exit_code"] == ExitCode.NOT_CONVERGED
    assert (tmp_path / "reports" / "dev" / "latest.json").exists()
    again = execute(
        settings(tmp_path), lambda s: Outcome.CONVERGED, factory_of(engine), environ,
        Streams(io.StringIO(), io.StringIO()),
    )  # fmt: skip
    assert again.exit_code == ExitCode.OK  # the host lock was released on the way out


def test_the_report_carries_the_coder_writes_the_provider_host_recorded_when_a_run_wrote(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()

    def body(session: Session) -> Outcome:
        # What the provider host does with the file the runner names in the engine's env.
        coder_writes.record("CoderTemplate", "create", 3, environ=engine.env)
        coder_writes.record("CoderUser", "create", 2, environ=engine.env)
        coder_writes.record("CoderUser", "create", 1, environ=engine.env)
        return Outcome.CREATED

    report = execute(
        settings(tmp_path),
        body,
        factory_of(engine),
        managed_environ(tmp_path),
        Streams(io.StringIO(), io.StringIO()),
    )

    assert [(w.kind, w.op, w.resources, w.requests) for w in report.coder_writes] == [
        ("CoderTemplate", "create", 1, 3),
        ("CoderUser", "create", 2, 3),
    ]
    assert report.coder_write_requests == 6
    assert not Path(engine.env[CODER_WRITE_LOG_ENV]).parent.exists()  # removed after the run


def test_a_converged_run_reports_zero_coder_writes(tmp_path: Path) -> None:
    engine, site = converged_world()
    report = execute(
        settings(tmp_path),
        lambda s: reconcile(s, OPTIONS, FakeDependencies(site)),
        factory_of(engine),
        managed_environ(tmp_path),
        Streams(io.StringIO(), io.StringIO()),
    )
    assert report.outcome is Outcome.CONVERGED
    assert report.coder_writes == [] and report.coder_write_requests == 0
    assert CODER_WRITE_LOG_ENV in engine.env
