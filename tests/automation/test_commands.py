"""preview, up, drift and the guarded destroy against the fake engine (C1, C4)."""

from __future__ import annotations

from pathlib import Path

from automation import commands
from automation.engine.protocol import ConfigEntry, PolicySettings
from automation.outcome import Outcome
from coder_platform.contracts import ExitCode
from tests.automation import state_fixture as fx
from tests.automation.fakes import converged_world
from tests.automation.runs import run

POLICY = PolicySettings(Path("policy"))


def test_drift_exits_11_and_lists_each_resource_and_property_when_live_state_differs(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    engine.drift = {
        fx.DB_CLUSTER: ("spec.instances", "spec.storage.size"),
        fx.CODER_RELEASE: ("values.coder.replicaCount",),
    }

    captured = run(engine, commands.drift, tmp_path, command="drift")

    assert captured.report.outcome is Outcome.DRIFT
    assert captured.report.exit_code == ExitCode.DRIFT
    assert {d.urn: d.properties for d in captured.report.drifted} == {
        fx.DB_CLUSTER: ["spec.instances", "spec.storage.size"],
        fx.CODER_RELEASE: ["values.coder.replicaCount"],
    }
    assert engine.calls.count("preview_refresh") == 1 and "up" not in engine.calls


SCHEDULED_BACKUP = (
    "urn:pulumi:dev::coder-platform::coder-platform:backup:CnpgBackups"
    "$kubernetes:postgresql.cnpg.io/v1:ScheduledBackup::coder-db-scheduled-backup"
)
SCHEDULED_BACKUP_TYPE = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"


def test_drift_reports_deleted_true_when_a_scheduled_backup_was_deleted_in_the_cluster(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    engine.deleted = {SCHEDULED_BACKUP: SCHEDULED_BACKUP_TYPE}

    captured = run(engine, commands.drift, tmp_path, command="drift")

    assert captured.report.exit_code == ExitCode.DRIFT
    assert [(d.urn, d.deleted, d.type) for d in captured.report.drifted] == [
        (SCHEDULED_BACKUP, True, SCHEDULED_BACKUP_TYPE)
    ]
    assert captured.report.pending == []  # bringing it back is healing, not a config change


def test_drift_exits_0_with_the_change_pending_when_only_the_config_changed(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    # reconciler.intervalMinutes 30 -> 15: nothing touched in the cluster.
    engine.pending = {fx.DB_CLUSTER: ("spec.schedule",)}

    captured = run(engine, commands.drift, tmp_path, command="drift")

    assert captured.report.outcome is Outcome.PENDING
    assert captured.report.exit_code == ExitCode.OK  # a scheduler alerting on drift stays quiet
    assert captured.report.drifted == []
    assert [(p.urn, p.op, p.properties) for p in captured.report.pending] == [
        (fx.DB_CLUSTER, "update", ["spec.schedule"])
    ]


def test_drift_exits_11_and_lists_pending_apart_when_both_drift_and_a_config_change_exist(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    engine.drift = {fx.STORAGE_CLASS: ("metadata.labels",)}
    engine.pending = {fx.DB_CLUSTER: ("spec.instances",)}

    captured = run(engine, commands.drift, tmp_path, command="drift")

    assert captured.report.exit_code == ExitCode.DRIFT
    assert [d.urn for d in captured.report.drifted] == [fx.STORAGE_CLASS]
    assert [p.urn for p in captured.report.pending] == [fx.DB_CLUSTER]


def test_drift_exits_0_when_nothing_drifted(tmp_path: Path) -> None:
    engine, _ = converged_world()
    captured = run(engine, commands.drift, tmp_path, command="drift")
    assert captured.report.exit_code == ExitCode.OK
    assert captured.report.drifted == []


def test_preview_lists_planned_changes_and_exits_0_when_changes_are_pending(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    engine.drift = {fx.STORAGE_CLASS: ("parameters.skuName",)}

    captured = run(engine, lambda s: commands.preview(s, POLICY), tmp_path, command="preview")

    assert captured.report.outcome is Outcome.PLANNED
    assert captured.report.exit_code == 0
    assert [(p.urn, p.op) for p in captured.report.planned] == [(fx.STORAGE_CLASS, "update")]
    assert "up" not in engine.calls


def test_up_reports_changes_by_operation_when_it_applies_them(tmp_path: Path) -> None:
    engine, _ = converged_world()
    engine.drift = {fx.STORAGE_CLASS: ("parameters.skuName",)}

    captured = run(engine, lambda s: commands.up(s, POLICY), tmp_path, command="up")

    assert captured.report.outcome is Outcome.APPLIED
    assert captured.report.changes == {"update": 1}
    assert engine.drift == {}


def test_destroy_is_refused_with_exit_18_when_the_stack_is_protected(tmp_path: Path) -> None:
    engine, _ = converged_world()  # the dev stack file sets protected: true

    captured = run(engine, lambda s: commands.destroy(s, "dev", None), tmp_path, command="destroy")

    assert captured.report.exit_code == ExitCode.REFUSED
    assert "destroy" not in engine.calls
    assert "coder-platform:protected" in (
        captured.report.error.message if captured.report.error else ""
    )


def test_destroy_is_refused_when_protected_is_unset(tmp_path: Path) -> None:
    engine, _ = converged_world()
    del engine.config_entries["coder-platform:protected"]

    captured = run(engine, lambda s: commands.destroy(s, "dev", None), tmp_path, command="destroy")

    assert captured.report.exit_code == ExitCode.REFUSED
    assert "destroy" not in engine.calls


def test_destroy_is_refused_when_the_typed_confirmation_does_not_match(tmp_path: Path) -> None:
    engine, _ = converged_world()
    engine.config_entries["coder-platform:protected"] = ConfigEntry("false")

    captured = run(
        engine, lambda s: commands.destroy(s, None, lambda _: "prod"), tmp_path, command="destroy"
    )

    assert captured.report.exit_code == ExitCode.REFUSED
    assert "--confirm dev" in (captured.report.error.action if captured.report.error else "")
    assert "destroy" not in engine.calls


def test_destroy_runs_when_unprotected_and_confirmed_by_name(tmp_path: Path) -> None:
    engine, _ = converged_world()
    engine.config_entries["coder-platform:protected"] = ConfigEntry("false")

    captured = run(engine, lambda s: commands.destroy(s, "dev", None), tmp_path, command="destroy")

    assert captured.report.exit_code == ExitCode.OK
    assert engine.calls[-1] == "destroy"
    assert captured.report.changes["delete"] > 0
