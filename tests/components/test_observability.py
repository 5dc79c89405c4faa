"""PlatformObservability under mocks, alone and as dev and prod register it (C4).

The PrometheusRule carries the groups ``coder_platform.observability.alerts`` renders from the
stack's own thresholds, the PodMonitor scrapes exactly the source cluster's instances, and the
dashboard ConfigMap is one the Grafana sidecar picks up.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from coder_platform.observability.alerts import AlertInputs, rule_groups
from coder_platform.observability.dashboard import build_dashboard
from components.observability import PlatformObservability, PlatformObservabilityArgs
from testbed.harness import RecordingMocks, load_stack_file, run_component, run_program

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
INPUTS = AlertInputs(
    stack="dev",
    database_namespace="coder-db",
    cluster_name="coder-db",
    instances=1,
    backup_period=timedelta(days=7),
    reconcile_interval_minutes=30,
    token_rotation_window_hours=96,
    drill_period=timedelta(days=7),
)


def args(**overrides: Any) -> PlatformObservabilityArgs:
    values: dict[str, Any] = {
        "stack": "dev",
        "namespace": "coder-db",
        "cluster_name": "coder-db",
        "rule_groups": rule_groups(INPUTS),
        "dashboard": build_dashboard(INPUTS),
        "rule_labels": {"release": "kube-prometheus-stack"},
    }
    values.update(overrides)
    return PlatformObservabilityArgs(**values)


def build(observability_args: PlatformObservabilityArgs) -> RecordingMocks:
    return run_component(lambda: PlatformObservability("observability", observability_args))


def dashboard_of(mocks: RecordingMocks) -> dict[str, Any]:
    [config_map] = [
        r
        for r in mocks.of_type(CONFIG_MAP)
        if "grafana_dashboard" in r.inputs["metadata"]["labels"]
    ]
    [document] = config_map.inputs["data"].values()
    return dict(json.loads(document))


def test_rule_pod_monitor_and_dashboard_are_registered_when_built() -> None:
    mocks = build(args())
    rule = mocks.one(PROMETHEUS_RULE).inputs
    assert rule["metadata"]["name"] == "coder-platform-dev"
    assert rule["metadata"]["namespace"] == "coder-db"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"]["groups"] == rule_groups(INPUTS)
    monitor = mocks.one(POD_MONITOR).inputs
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "cnpg.io/cluster": "coder-db",
        "cnpg.io/podRole": "instance",
    }
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics"}]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    config_map = mocks.one(CONFIG_MAP).inputs
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Coder Platform"}
    assert dashboard_of(mocks)["uid"] == "coder-platform-dev"


def test_pod_monitor_is_left_out_when_the_stack_scrapes_cnpg_another_way() -> None:
    mocks = build(args(pod_monitor=False))
    assert mocks.of_type(POD_MONITOR) == []
    assert len(mocks.of_type(PROMETHEUS_RULE)) == 1


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"namespace": "Coder_DB"}, "namespace 'Coder_DB' is not a DNS label"),
        ({"rule_groups": [{"name": "empty", "rules": []}]}, "holds no rule"),
        ({"dashboard": {"panels": []}}, "has no panels"),
    ],
)
def test_args_refuse_to_build_when_they_are_unusable(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        args(**overrides)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_deploys_alerts_from_its_own_thresholds_when_observability_is_on(stack: str) -> None:
    raw = load_stack_file(stack)
    mocks = run_program(raw, stack=stack)
    rule = mocks.one(PROMETHEUS_RULE).inputs
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert len(alerts) == 13
    interval = raw["reconciler"]["intervalMinutes"] * 60
    missed = raw["observability"]["alerts"]["reconcileMissedIntervals"]
    assert alerts["CoderPlatformReconcileFailing"]["expr"].endswith(f"> {missed * interval}")
    assert f'stack="{stack}"' in alerts["CoderPlatformReconcileFailing"]["expr"]
    window = raw["seeding"]["tokenRotationWindowHours"] * 3600
    assert f"< {window}" in alerts["CoderPlatformTokenInsideRotationWindow"]["expr"]
    instances = raw["database"]["instances"]
    assert f"< {instances})" in alerts["CoderDatabaseNotReady"]["expr"]
    assert all(
        a["annotations"]["runbook_url"].startswith("docs/runbook.md#") for a in alerts.values()
    )
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert mocks.one(POD_MONITOR).inputs["metadata"]["namespace"] == raw["namespaces"]["database"]
    assert dashboard_of(mocks)["title"] == f"Coder platform ({stack})"


def test_prod_backup_alert_allows_a_day_plus_its_margin_when_backups_are_daily() -> None:
    mocks = run_program(load_stack_file("prod"), stack="prod")
    rules = mocks.one(PROMETHEUS_RULE).inputs["spec"]["groups"][0]["rules"]
    [backup] = [r for r in rules if r["alert"] == "CoderDatabaseBaseBackupStale"]
    assert f"> {(24 + 6) * 3600})" in backup["expr"]


def test_nothing_is_registered_when_observability_is_off() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["observability"]["enabled"] = False
    raw["restoreDrill"]["enabled"] = False
    mocks = run_program(raw, stack="dev")
    assert mocks.of_type(PROMETHEUS_RULE) == [] and mocks.of_type(POD_MONITOR) == []
    reconciler = mocks.one("kubernetes:batch/v1:CronJob").inputs
    pod = reconciler["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "CODER_PLATFORM_PUSHGATEWAY" not in {e["name"] for e in pod["containers"][0]["env"]}


def test_runner_pushes_metrics_to_the_configured_gateway_when_observability_is_on() -> None:
    raw = load_stack_file("dev")
    mocks = run_program(raw, stack="dev")
    [reconciler] = [
        r
        for r in mocks.of_type("kubernetes:batch/v1:CronJob")
        if r.inputs["metadata"]["namespace"] == "coder-reconciler"
    ]
    pod = reconciler.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["CODER_PLATFORM_PUSHGATEWAY"] == raw["observability"]["pushgatewayUrl"]


def test_local_stack_registers_no_observability_when_left_off() -> None:
    mocks = run_program(load_stack_file("local"), stack="local")
    assert mocks.of_type(PROMETHEUS_RULE) == []
    assert not [r for r in mocks.resources if r.type.startswith("coder-platform:restoreDrill")]
