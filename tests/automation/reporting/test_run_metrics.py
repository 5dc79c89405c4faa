"""The runner's metrics the alerts read: last success, resets, token expiry, what verify found.

Numbers and labels only; a run that does not know a last-known family leaves the previous value
(textfile: carried over; Pushgateway: a POST replaces only the families it pushes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from automation.outcome import Outcome
from automation.reporting import metrics
from automation.reporting.report import (
    CoderCheckReport,
    CoderReport,
    ReportBuilder,
    ResourceReport,
    RunReport,
)
from testbed.harness import FAKE_TOKEN

EXPIRY = datetime(2026, 12, 7, tzinfo=UTC)
LABELS = '{stack="dev",command="reconcile"}'


def verified_report(outcome: Outcome = Outcome.HEALED, *, reset: bool = False) -> RunReport:
    builder = ReportBuilder("reconcile", "dev")
    builder.coder = CoderReport(
        url="https://coder.dev.corp.internal",
        first_user=True,
        reset_detected=reset,
        token_expires_at=EXPIRY,
        checks=[
            CoderCheckReport(name="first-user", ok=True, detail="exists"),
            CoderCheckReport(name="token", ok=True, detail="the published token authenticates"),
            CoderCheckReport(name="template:docker", ok=True, detail="present"),
            CoderCheckReport(name="template:k8s", ok=False, detail="missing in Coder"),
        ],
    )
    return builder.finish(outcome)


def value(text: str, family: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(f"{family}{{")]
    return float(line.rsplit(" ", 1)[1])


def test_metrics_carry_success_reset_token_and_seeded_counts_when_a_run_verified() -> None:
    report = verified_report(reset=True)
    text = metrics.render(report)
    assert value(text, "coder_platform_run_last_success_timestamp_seconds") == round(
        report.finished_at.timestamp(), 3
    )
    assert value(text, "coder_platform_run_resets_detected") == 1
    assert value(text, "coder_platform_run_token_expiry_timestamp_seconds") == EXPIRY.timestamp()
    assert value(text, "coder_platform_run_seeded_templates_found") == 1
    assert value(text, "coder_platform_run_seeded_users_found") == 1
    assert f"coder_platform_run_drifted_resources{LABELS} 0" in text
    assert FAKE_TOKEN not in text and "coder.dev.corp.internal" not in text


def test_last_known_families_are_left_out_when_a_run_failed_before_verify() -> None:
    text = metrics.render(ReportBuilder("reconcile", "dev").finish(Outcome.UPDATE_FAILED))
    for family in metrics.LAST_KNOWN:
        assert family not in text
    assert value(text, "coder_platform_run_resets_detected") == 0
    # Every operation is written, zero included, so a POST replaces an older run's counts.
    delete = (
        'coder_platform_run_resource_changes{stack="dev",command="reconcile",operation="delete"}'
    )
    assert f"{delete} 0" in text


def test_textfile_keeps_the_last_success_and_token_expiry_when_the_next_run_fails(
    tmp_path: Path,
) -> None:
    good = verified_report()
    metrics.write_textfile(tmp_path, good)
    path = metrics.write_textfile(
        tmp_path, ReportBuilder("reconcile", "dev").finish(Outcome.LOCKED)
    )
    text = path.read_text()
    assert value(text, "coder_platform_run_last_success_timestamp_seconds") == round(
        good.finished_at.timestamp(), 3
    )
    assert value(text, "coder_platform_run_token_expiry_timestamp_seconds") == EXPIRY.timestamp()
    assert 'coder_platform_run_outcome{stack="dev",command="reconcile",outcome="locked"} 1' in text
    assert text.count("# TYPE coder_platform_run_last_success_timestamp_seconds gauge") == 1


def test_textfile_replaces_the_last_success_when_a_newer_run_succeeds(tmp_path: Path) -> None:
    metrics.write_textfile(tmp_path, verified_report())
    newer = verified_report(Outcome.CONVERGED)
    text = metrics.write_textfile(tmp_path, newer).read_text()
    assert text.count("coder_platform_run_last_success_timestamp_seconds{") == 1
    assert value(text, "coder_platform_run_last_success_timestamp_seconds") == round(
        newer.finished_at.timestamp(), 3
    )


def test_push_posts_so_the_gateway_keeps_families_a_failed_run_did_not_know() -> None:
    pushed: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        pushed.append(request)
        return httpx.Response(200)

    failed = ReportBuilder("reconcile", "dev").finish(Outcome.DEPENDENCY_UNREACHABLE)
    metrics.push("http://pushgateway.test:9091/", failed, httpx.MockTransport(gateway))
    [request] = pushed
    assert request.method == "POST"
    assert request.url.path == "/metrics/job/coder_platform_runner/stack/dev/command/reconcile"
    assert b"last_success_timestamp_seconds" not in request.content


def test_token_expiry_is_read_from_the_token_resource_when_the_state_holds_one() -> None:
    from automation.observe.coder_checks import token_expiry
    from coder_platform.contracts import CODER_API_TOKEN_TYPE

    def state(*resources: dict[str, object]) -> dict[str, object]:
        return {"deployment": {"resources": list(resources)}}

    token: dict[str, object] = {
        "urn": "urn:t",
        "type": CODER_API_TOKEN_TYPE,
        "outputs": {"expires_at": EXPIRY.isoformat()},
    }
    assert token_expiry(state({"urn": "urn:x", "type": "kubernetes:core/v1:Secret"}, token)) == (
        EXPIRY
    )
    assert token_expiry(state({**token, "outputs": {"expires_at": "not a time"}})) is None
    assert token_expiry(state()) is None


def test_pending_changes_and_drift_are_separate_families_when_only_the_config_changed() -> None:
    builder = ReportBuilder("drift", "dev")
    builder.pending = [
        ResourceReport(urn="urn:pulumi:dev::p::kubernetes:batch/v1:CronJob::c", type="CronJob")
    ]
    text = metrics.render(builder.finish(Outcome.PENDING))
    labels = '{stack="dev",command="drift"}'
    assert f"coder_platform_run_pending_changes{labels} 1" in text
    assert f"coder_platform_run_drifted_resources{labels} 0" in text
    assert f"coder_platform_run_exit_code{labels} 0" in text
    assert f"coder_platform_run_last_success_timestamp_seconds{labels}" in text
