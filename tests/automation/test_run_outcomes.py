"""What a run's report and exit code say when things go wrong or were only just created.

- a failed run names the failing resources and the engine's (redacted) messages (C4);
- verify does not call a stack converged while an object it owns is being deleted;
- a first deploy reads "created", a config change "updated", drift or a reset "healed" (all 10).
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from automation.engine.protocol import PolicySettings
from automation.outcome import Outcome
from automation.reconcile import ReconcileOptions, reconcile
from automation.reporting.render import render
from coder_platform.contracts import ExitCode
from testbed.coder_double import CoderDouble
from tests.automation import state_fixture as fx
from tests.automation.fakes import SECRET_CONFIG_VALUE, FakeDependencies, FakeEngine
from tests.automation.fakes import converged_world as world
from tests.automation.runs import Captured, run

OPTIONS = ReconcileOptions(policy=PolicySettings(Path("policy")), dependency_deadline_seconds=5)
CRON_JOB = (
    "urn:pulumi:dev::coder-platform::coder-platform:reconciler:ReconcilerSchedule"
    "$kubernetes:batch/v1:CronJob::reconciler-cron-job"
)
CRON_JOB_TYPE = "kubernetes:batch/v1:CronJob"
SCHEDULED_BACKUP = (
    "urn:pulumi:dev::coder-platform::coder-platform:backup:CnpgBackups"
    "$kubernetes:postgresql.cnpg.io/v1:ScheduledBackup::coder-db-scheduled-backup"
)
SCHEDULED_BACKUP_TYPE = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"


def reconcile_once(engine: FakeEngine, tmp_path: Path, **kwargs: object) -> Captured:
    site = kwargs.pop("site", None)
    deps = FakeDependencies(site)  # type: ignore[arg-type]
    return run(engine, lambda s: reconcile(s, OPTIONS, deps), tmp_path, **kwargs)  # type: ignore[arg-type]


def test_failed_run_report_names_the_failing_urn_and_its_redacted_message_when_up_fails(
    tmp_path: Path,
) -> None:
    engine, site = world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}
    refused = (
        f'resource "{CRON_JOB}" was not successfully created by the Kubernetes API server: '
        'cronjobs.batch "coder-reconciler-local" is forbidden: denied request '
        f"(kubeconfig {SECRET_CONFIG_VALUE})"
    )
    engine.failing = (CRON_JOB, CRON_JOB_TYPE, refused)

    captured = reconcile_once(engine, tmp_path, site=site)

    report = captured.report
    assert report.exit_code == ExitCode.UPDATE_FAILED
    [failed] = report.failed
    assert (failed.urn, failed.type, failed.op) == (CRON_JOB, CRON_JOB_TYPE, "create")
    [message] = failed.messages
    assert "is forbidden: denied request" in message
    assert SECRET_CONFIG_VALUE not in captured.everything
    assert ("error", CRON_JOB) in {(d.severity, d.urn) for d in report.diagnostics}
    assert report.error is not None and "failed list" in report.error.action


def test_human_failure_table_shows_the_reason_when_a_phase_fails(tmp_path: Path) -> None:
    engine, site = world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}
    engine.failing = (CRON_JOB, CRON_JOB_TYPE, "cronjobs.batch is forbidden: denied request")

    captured = reconcile_once(engine, tmp_path, site=site, output="human")

    [act] = [p for p in captured.report.phases if p.name == "act"]
    assert act.status == "failed" and "forbidden: denied request" in act.detail
    assert "forbidden: denied request" in captured.stdout
    assert "reconciler-cron-job" in captured.stdout  # the failed table names the resource


def test_verify_is_not_converged_and_names_the_object_when_one_the_stack_owns_is_terminating(
    tmp_path: Path,
) -> None:
    engine, site = world()
    engine.terminating = {SCHEDULED_BACKUP: SCHEDULED_BACKUP_TYPE}

    captured = reconcile_once(engine, tmp_path, site=site)

    report = captured.report
    assert report.outcome is Outcome.NOT_CONVERGED, report.error
    assert report.exit_code == ExitCode.NOT_CONVERGED
    assert [(t.urn, t.type) for t in report.terminating] == [
        (SCHEDULED_BACKUP, SCHEDULED_BACKUP_TYPE)
    ]
    assert report.error is not None
    assert "coder-db-scheduled-backup" in report.error.message
    assert "finalizers" in report.error.action


def test_verify_is_not_converged_when_an_object_is_still_terminating_after_acting(
    tmp_path: Path,
) -> None:
    engine, site = world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}
    engine.terminating = {SCHEDULED_BACKUP: SCHEDULED_BACKUP_TYPE}

    captured = reconcile_once(engine, tmp_path, site=site)

    assert captured.report.exit_code == ExitCode.NOT_CONVERGED
    assert "up" in engine.calls
    assert [p.status for p in captured.report.phases if p.name == "verify"] == ["failed"]


def test_reconcile_reads_created_and_exits_10_when_it_deploys_a_new_stack(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(coder=CoderDouble(), state=fx.deployment([]))
    engine.pending = {fx.STORAGE_CLASS: ()}

    captured = reconcile_once(engine, tmp_path, output="human")

    assert captured.report.outcome is Outcome.CREATED
    assert captured.report.exit_code == ExitCode.HEALED
    assert "created (exit 10)" in captured.stdout and "healed" not in captured.stdout


def test_reconcile_reads_updated_when_only_code_or_config_changes_were_applied(
    tmp_path: Path,
) -> None:
    engine, site = world()
    engine.pending = {fx.DB_CLUSTER: ("spec.instances",)}

    captured = reconcile_once(engine, tmp_path, site=site)

    assert captured.report.outcome is Outcome.UPDATED
    assert captured.report.exit_code == ExitCode.HEALED
    assert captured.report.drifted == []


def test_reconcile_reads_healed_when_drift_was_taken_back(tmp_path: Path) -> None:
    engine, site = world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}

    captured = reconcile_once(engine, tmp_path, site=site)

    assert captured.report.outcome is Outcome.HEALED


def test_render_lists_failed_resources_with_their_message_when_a_report_has_them() -> None:
    from automation.reporting.report import FailedResourceReport, ReportBuilder

    builder = ReportBuilder("up", "local")
    builder.failed = [
        FailedResourceReport(
            urn=CRON_JOB, type=CRON_JOB_TYPE, op="create", messages=["denied request"]
        )
    ]
    out = io.StringIO()
    render(builder.finish(Outcome.UPDATE_FAILED), Console(file=out, width=100))
    assert "reconciler-cron-job" in out.getvalue() and "denied request" in out.getvalue()
