"""reconcile, phase by phase, against the fake engine and the Coder double.

Contract clauses: C1 (config validated before anything runs), C2 (a converged stack is a fast
no-op with zero writes to Coder), C3 (a Coder reset and drift are healed), C4 (every outcome has
its exit code and a report), P1 (bounded dependency checks, locks never cleared silently).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.engine.protocol import ConfigEntry, PolicySettings
from automation.errors import LockHolder, StackLockedError, UpdateFailedError
from automation.observe.dependencies import DependencyFactory
from automation.observe.probes import ProbeStatus
from automation.outcome import Outcome
from automation.reconcile import ReconcileOptions, reconcile
from automation.reporting.events import PolicyFinding
from automation.session import Session
from coder_platform.contracts import CURRENT_CODER_TOKEN_ENV, ExitCode
from tests.automation import state_fixture as fx
from tests.automation.fakes import (
    FakeDependencies,
    FakeEngine,
    StaticProbe,
    converged_world,
)
from tests.automation.runs import Captured, run

POLICY = PolicySettings(Path("policy"), Path("policy/config/dev.json"))
# A run whose deployed Coder did not answer while its seed is in state (reconcile's two passes).
TWO_PASS_PHASES = ["observe", "act (without the seed)", "wait for Coder", "decide", "act", "verify"]


def reconcile_with(
    engine: FakeEngine,
    dependencies: DependencyFactory,
    tmp_path: Path,
    **options: object,
) -> Captured:
    settings = ReconcileOptions(policy=POLICY, dependency_deadline_seconds=5, **options)  # type: ignore[arg-type]
    return run(engine, lambda session: reconcile(session, settings, dependencies), tmp_path)


def phase_names(captured: Captured) -> list[str]:
    return [p.name for p in captured.report.phases]


def test_second_run_is_a_fast_noop_with_zero_coder_writes_when_already_converged(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()

    first = reconcile_with(engine, FakeDependencies(site), tmp_path)
    second = reconcile_with(engine, FakeDependencies(site), tmp_path)

    for captured in (first, second):
        assert captured.report.outcome is Outcome.CONVERGED
        assert captured.report.exit_code == ExitCode.OK
        assert captured.report.changes == {}
        assert captured.report.healed == []
        assert "up" not in engine.calls and "import" not in engine.calls
        assert captured.report.coder is not None
        assert captured.report.coder.writes_by_runner == 0
        assert all(check.ok for check in captured.report.coder.checks)
    assert site.coder.writes() == 0
    assert engine.calls.count("preview") == 2  # one preview per run, no follow-up needed
    assert [p.status for p in second.report.phases if p.name == "act"] == ["skipped"]


def test_the_provider_host_gets_the_published_token_when_coder_has_its_first_user(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.outcome is Outcome.CONVERGED
    published = site.published_token()
    assert published and engine.env[CURRENT_CODER_TOKEN_ENV] == published
    assert published not in captured.everything


def test_reset_removes_only_the_seeded_subtree_then_reseeds_when_coder_has_no_first_user(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    before = json.loads(json.dumps(engine.state))
    site.coder.wipe()  # the incident: Coder's database is gone, every token with it

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    report = captured.report
    assert report.outcome is Outcome.HEALED, report.error
    assert report.exit_code == ExitCode.HEALED
    assert report.coder is not None and report.coder.reset_detected
    assert report.state_edit is not None and report.state_edit.reason == "coder-reset"
    assert set(report.state_edit.removed) == {
        *fx.SEEDED_SUBTREE,
        *fx.CLOSURE_REMOVED,
    } - set(fx.KEPT_SEEDED)
    [imported] = engine.imported
    kept = {r["urn"]: r for r in imported["deployment"]["resources"]}
    original = {r["urn"]: r for r in before["deployment"]["resources"]}
    assert set(kept) == {r["urn"] for r in fx.platform_resources()} | set(fx.KEPT_SEEDED)
    for resource in fx.platform_resources():
        assert json.dumps(kept[resource["urn"]]) == json.dumps(original[resource["urn"]])
    assert kept[fx.PUBLISHED_TOKEN]["dependencies"] == []
    assert engine.calls.index("import") < engine.calls.index("up")
    assert site.coder.users, "the up re-created the first user"
    assert report.changes.get("create", 0) > 0
    assert all(check.ok for check in report.coder.checks)


def test_decide_changes_nothing_and_act_edits_state_when_coder_was_reset(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    site.coder.wipe()

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    phases = {p.name: p for p in captured.report.phases}
    assert "to drop from state" in phases["decide"].detail
    assert "seeded subtree removed from state" in phases["act"].detail
    # The only state write comes after decide: import sits between act's start and its up, and
    # no preview of the dead seeded resources ran before it.
    assert engine.calls.index("import") < engine.calls.index("up")
    assert "preview" not in engine.calls[: engine.calls.index("import")]


def test_next_run_is_a_noop_with_zero_coder_writes_when_a_reset_was_just_healed(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    site.coder.wipe()
    assert reconcile_with(engine, FakeDependencies(site), tmp_path).report.exit_code == 10
    site.coder.requests.clear()

    again = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert again.report.outcome is Outcome.CONVERGED
    assert site.coder.writes() == 0
    assert again.report.state_edit is None


def test_drift_is_healed_and_listed_with_its_properties_when_the_preview_finds_it(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    report = captured.report
    assert report.exit_code == ExitCode.HEALED
    assert [(d.urn, d.properties) for d in report.drifted] == [(fx.DB_CLUSTER, ["spec.instances"])]
    assert [(h.urn, h.op) for h in report.healed] == [(fx.DB_CLUSTER, "update")]
    assert report.changes == {"update": 1}
    assert phase_names(captured)[:5] == ["observe", "decide", "act", "verify", "record"]
    assert all(p.duration_seconds >= 0 for p in report.phases)
    assert site.coder.writes() == 0


def test_policy_violation_exits_12_and_nothing_is_applied_when_a_mandatory_policy_fails(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.drift = {fx.STORAGE_CLASS: ("reclaimPolicy",)}
    engine.policy_findings = [
        PolicyFinding(
            "coder-platform",
            "storage-class-retain",
            "mandatory",
            "reclaimPolicy must be Retain: set database.ephemeral to false",
            fx.STORAGE_CLASS,
        ),
        PolicyFinding("coder-platform", "reconciler-interval", "advisory", "interval is long"),
    ]

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.outcome is Outcome.POLICY_VIOLATION
    assert captured.report.exit_code == ExitCode.POLICY_VIOLATION
    assert "up" not in engine.calls
    assert {v.enforcement for v in captured.report.policy_violations} == {"mandatory", "advisory"}
    assert "storage-class-retain" in captured.stderr.splitlines()[-1]


def test_dependency_unreachable_exits_13_when_vault_does_not_answer(tmp_path: Path) -> None:
    engine, site = converged_world()
    deps = FakeDependencies(
        site,
        probes=[
            StaticProbe("kubernetes"),
            StaticProbe("vault", ProbeStatus.FAILED, "Vault is sealed after 4 attempts in 5s"),
        ],
    )

    captured = reconcile_with(engine, deps, tmp_path)

    assert captured.report.exit_code == ExitCode.DEPENDENCY_UNREACHABLE
    assert "preview" not in engine.calls
    last = json.loads(captured.stderr.splitlines()[-1])
    assert "vault" in last["message"] and "Vault is sealed" in last["message"]


def test_locked_exits_14_with_age_and_clear_command_when_another_update_holds_the_lock(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}
    holder = LockHolder(
        "file:///state/.pulumi/locks/organization/coder-platform/dev/1f0c.json",
        "runner@reconciler-29xk1",
        7,
        datetime.now(UTC) - timedelta(minutes=3),
    )
    engine.lock_on_up = StackLockedError("locked", "-", [holder])

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.exit_code == ExitCode.LOCKED
    message = captured.report.error.message if captured.report.error else ""
    assert "runner@reconciler-29xk1 pid 7, 0h03m old" in message
    assert "cancel --stack organization/coder-platform/dev --yes" in (
        captured.report.error.action if captured.report.error else ""
    )
    assert engine.cancelled == 0


def test_second_reconcile_exits_14_when_the_backend_shows_a_running_update(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.visible_locks = [
        LockHolder("lock.json", "runner@other-pod", 12, datetime.now(UTC) - timedelta(seconds=30))
    ]

    captured = reconcile_with(
        engine, FakeDependencies(site), tmp_path, break_stale_lock_after=timedelta(hours=2)
    )

    assert captured.report.exit_code == ExitCode.LOCKED
    assert engine.cancelled == 0 and "preview" not in engine.calls


def test_stale_lock_is_cleared_and_logged_when_older_than_break_stale_lock_after(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.visible_locks = [
        LockHolder(
            "/state/.pulumi/locks/organization/coder-platform/dev/9a.json",
            "runner@killed-pod",
            7,
            datetime.now(UTC) - timedelta(hours=5),
        )
    ]

    captured = reconcile_with(
        engine, FakeDependencies(site), tmp_path, break_stale_lock_after=timedelta(hours=2)
    )

    assert captured.report.exit_code == ExitCode.OK
    assert engine.cancelled == 1
    [note] = [n for n in captured.report.notes if "stale lock" in n]
    assert "9a.json" in note and "runner@killed-pod" in note and "5h00m old" in note
    assert "older than --break-stale-lock-after 7200s: no live run holds it" in note


def test_stale_lock_is_kept_when_break_stale_lock_after_is_not_given(tmp_path: Path) -> None:
    engine, site = converged_world()
    engine.visible_locks = [
        LockHolder("9a.json", "runner@killed-pod", 7, datetime.now(UTC) - timedelta(days=3))
    ]

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.exit_code == ExitCode.LOCKED
    assert engine.cancelled == 0


def test_config_invalid_exits_15_before_any_engine_operation_when_a_key_is_wrong(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.config_entries["coder-platform:database"] = ConfigEntry(
        json.dumps({"backup": {"storageAccountName": "Not_Valid", "retentionDays": 0}})
    )
    deps = FakeDependencies(site)

    captured = reconcile_with(engine, deps, tmp_path)

    assert captured.report.exit_code == ExitCode.CONFIG_INVALID
    assert deps.calls == 0 and "preview" not in engine.calls
    message = captured.report.error.message if captured.report.error else ""
    assert "coder-platform:database.backup.retentionDays" in message
    assert "Not_Valid" not in captured.everything


def test_not_converged_exits_16_when_the_follow_up_preview_still_shows_changes(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.perpetual = [fx.CODER_RELEASE]

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.exit_code == ExitCode.NOT_CONVERGED
    assert [p.urn for p in captured.report.planned] == [fx.CODER_RELEASE]
    assert "coder-release" in (captured.report.error.message if captured.report.error else "")


def test_not_converged_exits_16_when_a_template_is_missing_from_coder(tmp_path: Path) -> None:
    engine, site = converged_world()
    site.coder.templates = [t for t in site.coder.templates if t["name"] != "gpu-workspace"]

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.exit_code == ExitCode.NOT_CONVERGED
    assert captured.report.coder is not None
    failed = {c.name: c.detail for c in captured.report.coder.checks if not c.ok}
    assert failed == {"template:gpu-workspace": "missing in Coder"}
    assert site.coder.writes() == 0


def test_not_converged_when_the_published_token_is_rejected(tmp_path: Path) -> None:
    engine, site = converged_world()
    site.coder.keys.clear()  # revoked out of band: the published token no longer works

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.exit_code == ExitCode.NOT_CONVERGED
    failed = [c for c in captured.report.coder.checks if not c.ok] if captured.report.coder else []
    assert [c.name for c in failed] == ["token"]
    assert engine.vault["platform/coder/coder-cli-session-token"] not in captured.everything


def test_update_failed_exits_17_when_the_engine_fails_a_resource(tmp_path: Path) -> None:
    engine, site = converged_world()
    engine.drift = {fx.CODER_RELEASE: ("values",)}
    engine.fail_up = UpdateFailedError(
        "pulumi up failed (CLI exit 4): helm: release coder failed: timed out waiting",
        "Read the report's diagnostics",
        4,
    )

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path)

    assert captured.report.exit_code == ExitCode.UPDATE_FAILED
    assert [p.status for p in captured.report.phases if p.name == "act"] == ["failed"]


def test_internal_error_exits_70_with_a_report_when_the_runner_has_a_bug(tmp_path: Path) -> None:
    engine, _ = converged_world()

    def broken(session: Session) -> Outcome:
        raise KeyError("deployment")

    captured = run(engine, broken, tmp_path)

    assert captured.report.exit_code == ExitCode.INTERNAL
    assert captured.report.error is not None and captured.report.error.kind == "InternalError"
    assert (tmp_path / "reports" / "dev" / "latest.json").exists()


def test_reset_is_healed_in_one_run_when_coder_did_not_answer_at_observe(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    site.coder.wipe()
    site.down_for_clients = 1  # the observe probe finds Coder down; it is back, empty, later

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path, coder_poll_seconds=0)

    report = captured.report
    assert report.exit_code == ExitCode.HEALED, report.error
    assert phase_names(captured)[:6] == TWO_PASS_PHASES
    assert {p.name: p.status for p in report.probes}["coder"] == "failed"
    assert report.state_edit is not None
    assert report.coder is not None and report.coder.first_user is False
    assert "Coder answers with no first user: a reset" in report.phases[2].detail


def test_the_rest_is_updated_first_then_coder_keeps_its_data_when_it_was_down_with_its_database(
    tmp_path: Path,
) -> None:
    """The incident: the database's namespace is gone, so the deployed Coder cannot answer and
    every seeded resource would fail its refresh. The database is brought back by an update
    that leaves the seed out; Coder then answers with its own data, so nothing is re-seeded."""
    engine, site = converged_world()
    engine.deleted = {fx.DB_CLUSTER: "kubernetes:postgresql.cnpg.io/v1:Cluster"}
    site.down_for_clients = 3  # the probe and two polls find it down

    captured = reconcile_with(engine, FakeDependencies(site), tmp_path, coder_poll_seconds=0)

    report = captured.report
    assert report.exit_code == ExitCode.HEALED, report.error
    assert phase_names(captured)[:6] == TWO_PASS_PHASES
    assert [p.status for p in report.phases][4] == "skipped"  # nothing left after the first pass
    updates = [c for c in engine.calls if c in ("up", "up excluding the seed", "preview")]
    assert updates[0] == "up excluding the seed"  # no preview while Coder was down
    assert [(h.urn, h.op) for h in report.healed] == [(fx.DB_CLUSTER, "create")]
    assert report.changes == {"create": 1}
    assert report.state_edit is None
    assert report.coder is not None and report.coder.first_user is True
    assert site.coder.writes() == 0
    assert any("leaving out coder-seed and what depends on it" in n for n in report.notes)


def test_exits_13_after_the_first_pass_when_the_deployed_coder_never_answers(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.deleted = {fx.DB_CLUSTER: "kubernetes:postgresql.cnpg.io/v1:Cluster"}
    site.down_for_clients = 1000

    captured = reconcile_with(
        engine,
        FakeDependencies(site),
        tmp_path,
        coder_poll_seconds=0,
        coder_recovery_deadline_seconds=0,
    )

    report = captured.report
    assert report.exit_code == ExitCode.DEPENDENCY_UNREACHABLE
    assert report.error is not None
    assert f"Coder at {site.url} did not answer within 0 s" in report.error.message
    assert "kubectl" in report.error.action
    # The first pass stays done and reported: the database is back even though Coder is not.
    assert [(h.urn, h.op) for h in report.healed] == [(fx.DB_CLUSTER, "create")]
    assert "preview" not in engine.calls
    assert site.coder.writes() == 0


def test_exit_codes_match_the_documented_table_when_listed() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "USAGE": 2,
        "HEALED": 10,
        "DRIFT": 11,
        "POLICY_VIOLATION": 12,
        "DEPENDENCY_UNREACHABLE": 13,
        "LOCKED": 14,
        "CONFIG_INVALID": 15,
        "NOT_CONVERGED": 16,
        "UPDATE_FAILED": 17,
        "REFUSED": 18,
        "INTERNAL": 70,
    }
