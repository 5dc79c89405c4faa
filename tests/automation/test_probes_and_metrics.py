"""Dependency probes (bounded retry, clear verdicts), Kubernetes discovery, metrics, report IO."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import yaml

from automation.observe.kube_endpoint import discover
from automation.observe.probes import (
    CoderProbe,
    HttpProbe,
    ProbeStatus,
    kubernetes_verdict,
    vault_verdict,
)
from automation.outcome import Outcome
from automation.reporting import metrics
from automation.reporting.report import (
    CoderWritesReport,
    ReportBuilder,
    read_latest,
    write_report,
)
from testbed.coder_double import CoderDouble, FakeClock
from tests.automation.fakes import DoubleSite


def probe(statuses: list[int | None], verdict: object) -> tuple[HttpProbe, list[int]]:
    seen: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(1)
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    return HttpProbe(
        "vault",
        "https://vault.test/v1/sys/health",
        verdict,  # type: ignore[arg-type]
        clock=FakeClock(),
        transport=httpx.MockTransport(handle),
    ), seen


def test_probe_succeeds_when_the_dependency_answers_within_the_deadline() -> None:
    vault, seen = probe([None, 503, 200], vault_verdict)
    result = vault.check(30)
    assert result.status is ProbeStatus.OK and result.attempts == 3 == len(seen)


def test_probe_fails_with_the_last_reason_when_the_deadline_passes() -> None:
    vault, _ = probe([503], vault_verdict)
    result = vault.check(10)
    assert result.status is ProbeStatus.FAILED
    assert "Vault is sealed" in result.detail and "10s" in result.detail


def test_coder_probe_reports_every_readiness_attempt_when_coder_starts_late() -> None:
    coder = CoderDouble()
    coder.fail_next(503, times=2)
    result = CoderProbe(DoubleSite(coder, {}), clock=FakeClock()).check(30)
    assert result.status is ProbeStatus.OK
    assert coder.count("GET", "/buildinfo") == 3 and coder.count("GET", "/users/first") == 1
    assert result.attempts == 4


def test_coder_probe_fails_naming_the_database_when_coder_answers_but_its_database_does_not() -> (
    None
):
    coder = CoderDouble(database_down=True)
    result = CoderProbe(DoubleSite(coder, {}), clock=FakeClock()).check(10)
    assert result.status is ProbeStatus.FAILED
    assert "Coder answers but cannot reach its database" in result.detail
    assert "Internal error fetching user count." in result.detail
    assert coder.count("GET", "/users/first") == result.attempts - 1 > 1
    assert coder.writes() == 0


def test_coder_probe_passes_when_its_database_comes_back_within_the_deadline() -> None:
    coder = CoderDouble(database_down=True)
    clock = FakeClock()
    original_sleep = clock.sleep

    def database_returns(seconds: float) -> None:
        coder.database_down = False
        original_sleep(seconds)

    clock.sleep = database_returns  # type: ignore[method-assign]
    result = CoderProbe(DoubleSite(coder, {}), clock=clock).check(10)
    assert result.status is ProbeStatus.OK
    assert coder.count("GET", "/users/first") == 2


def test_probe_closes_its_connections_when_each_check_ends() -> None:
    opened: list[httpx.Request] = []

    class Tracking(httpx.MockTransport):
        closed = 0

        def close(self) -> None:
            Tracking.closed += 1

    def answer(request: httpx.Request) -> httpx.Response:
        opened.append(request)
        return httpx.Response(200)

    transport = Tracking(answer)
    probe = HttpProbe(
        "kubernetes", "https://kube.test/version", kubernetes_verdict, transport=transport
    )
    probe.check(5)
    assert len(opened) == 1 and Tracking.closed == 1


def test_kubernetes_is_reachable_when_it_answers_401_without_credentials() -> None:
    assert kubernetes_verdict(401) is None and kubernetes_verdict(200) is None
    assert kubernetes_verdict(500) == "HTTP 500"


def test_server_and_ca_come_from_the_kubeconfig_when_not_in_cluster(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        yaml.safe_dump(
            {
                "current-context": "aks-dev",
                "contexts": [
                    {"name": "aks-dev", "context": {"cluster": "aks"}},
                    {"name": "kind", "context": {"cluster": "kind"}},
                ],
                "clusters": [
                    {
                        "name": "aks",
                        "cluster": {
                            "server": "https://aks-dev.hcp.westeurope.azmk8s.io:443",
                            "certificate-authority-data": base64.b64encode(b"not a pem").decode(),
                        },
                    },
                    {
                        "name": "kind",
                        "cluster": {
                            "server": "https://127.0.0.1:6443",
                            "insecure-skip-tls-verify": True,
                        },
                    },
                ],
            }
        )
    )
    current = discover({"KUBECONFIG": str(config)})
    kind = discover({"KUBECONFIG": str(config)}, context="kind")
    assert current is not None and current.server.startswith("https://aks-dev")
    assert current.verify is True  # an unreadable CA falls back to system roots
    assert kind is not None and kind.verify is False
    assert discover({}, home=tmp_path / "nobody") is None


def test_metrics_carry_zero_coder_writes_when_the_run_wrote_nothing_to_coder() -> None:
    text = metrics.render(ReportBuilder("reconcile", "dev").finish(Outcome.CONVERGED))
    assert 'coder_platform_run_coder_writes{stack="dev",command="reconcile"} 0' in text
    assert "coder_platform_run_coder_writes_by_kind{" not in text


def test_metrics_carry_the_coder_writes_per_kind_and_operation_when_a_seed_created_them() -> None:
    builder = ReportBuilder("reconcile", "dev")
    builder.coder_writes = [
        CoderWritesReport(kind="CoderTemplate", op="create", resources=1, requests=3),
        CoderWritesReport(kind="CoderUser", op="create", resources=2, requests=4),
    ]
    text = metrics.render(builder.finish(Outcome.CREATED))
    assert 'coder_platform_run_coder_writes{stack="dev",command="reconcile"} 7' in text
    assert (
        'coder_platform_run_coder_writes_by_kind{stack="dev",command="reconcile",'
        'kind="CoderUser",operation="create"} 4'
    ) in text


def test_metrics_carry_outcome_and_changes_when_written_or_pushed(tmp_path: Path) -> None:
    builder = ReportBuilder("reconcile", "dev")
    builder.changes = {"update": 2}
    report = builder.finish(Outcome.HEALED)
    text = metrics.render(report)
    assert 'coder_platform_run_exit_code{stack="dev",command="reconcile"} 10' in text
    assert 'outcome="healed"} 1' in text and 'outcome="converged"} 0' in text
    assert 'operation="update"} 2' in text
    path = metrics.write_textfile(tmp_path, report)
    assert path.name == "coder_platform_dev_reconcile.prom" and path.read_text() == text
    pushed: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        pushed.append(request)
        return httpx.Response(200)

    metrics.push("http://pushgateway.test:9091", report, httpx.MockTransport(gateway))
    assert pushed[0].method == "POST"  # replaces only the families pushed
    assert pushed[0].url.path == "/metrics/job/coder_platform_runner/stack/dev/command/reconcile"


def test_report_reads_back_as_latest_when_written_per_run(tmp_path: Path) -> None:
    first = ReportBuilder("drift", "dev").finish(Outcome.CONVERGED)
    second = ReportBuilder("reconcile", "dev").finish(Outcome.HEALED)
    write_report(first, tmp_path)
    path = write_report(second, tmp_path)
    assert path.name == f"{second.run_id}.json"
    assert len(list((tmp_path / "dev").glob("2*.json"))) == 2
    latest = read_latest(tmp_path, "dev")
    assert latest is not None and latest.run_id == second.run_id and latest.exit_code == 10
