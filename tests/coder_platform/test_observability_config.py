"""observability.* and restoreDrill.*: thresholds and schedules validate, cross-key rules name the
key to change, and the alert set, cron gaps and dashboard follow from the config."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from coder_platform.config import ConfigError, load_config
from coder_platform.observability.alerts import alerts
from coder_platform.observability.cron_gaps import ScheduleError, max_interval
from coder_platform.observability.dashboard import build_dashboard
from testbed.harness import load_stack_file
from wiring.operations import inputs_from_config


def dev() -> dict[str, Any]:
    return copy.deepcopy(load_stack_file("dev"))


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


def names(raw: dict[str, Any], stack: str = "dev") -> set[str]:
    return {alert.name for alert in alerts(inputs_from_config(load_config(raw), stack))}


# --- cron gaps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [
        ("0 0 2 * * 0", timedelta(days=7)),  # CNPG, seconds first: Sunday 02:00
        ("0 30 1 * * *", timedelta(days=1)),
        ("17 4 * * 1", timedelta(days=7)),  # Kubernetes, five fields
        ("*/15 * * * *", timedelta(minutes=15)),
        ("0 0 1 * *", timedelta(days=31)),  # monthly: the longest month
        ("0 0 1,15 * 1", timedelta(days=7)),  # day-of-month OR day-of-week (robfig/cron)
        ("0 0 * * MON-FRI", timedelta(days=3)),  # Friday to Monday
        ("@weekly", timedelta(days=7)),
    ],
)
def test_longest_gap_is_the_schedules_worst_case_when_it_is_read(
    schedule: str, gap: timedelta
) -> None:
    assert max_interval(schedule) == gap


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 0 2 * *  * *", "five fields"),
        ("61 * * * *", "minute '61' is outside 0-59"),
        ("0 0 30 2 *", "less than once a year"),
        ("0 0 * * FUNDAY", "day-of-week 'FUNDAY' is not a number"),
    ],
)
def test_unreadable_schedule_names_the_field_when_it_is_rejected(
    schedule: str, message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        max_interval(schedule)


# --- config --------------------------------------------------------------------------------


def test_both_sections_default_off_when_a_stack_leaves_them_out() -> None:
    config = load_config(load_stack_file("local"))
    assert not config.observability.enabled and not config.restore_drill.enabled


def test_drill_schedule_must_be_five_fields_when_it_is_set() -> None:
    raw = dev()
    raw["restoreDrill"]["schedule"] = "0 17 4 * * 1"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:restoreDrill.schedule: ")
    assert "five fields" in problem


def test_drill_namespace_must_be_a_scratch_namespace_when_the_drill_is_on() -> None:
    raw = dev()
    raw["restoreDrill"]["namespace"] = raw["namespaces"]["database"]
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:restoreDrill.namespace: ")
    assert "scratch namespace of its own" in problem


def test_managed_drill_needs_a_pushgateway_and_alerts_when_it_is_on() -> None:
    raw = dev()
    raw["observability"] = {"enabled": False}
    keys = {p.split(": ")[0] for p in problems(raw)}
    assert keys == {
        "coder-platform:observability.pushgatewayUrl",
        "coder-platform:observability.enabled",
    }


def test_drill_needs_an_image_when_there_is_no_reconciler() -> None:
    raw = dev()
    del raw["reconciler"]
    raw["seeding"]["tokenRotationWindowHours"] = 96
    keys = {p.split(": ")[0] for p in problems(raw)}
    assert "coder-platform:restoreDrill.image" in keys


@pytest.mark.parametrize(
    ("section", "key", "value", "allowed"),
    [
        ("alerts", "walArchiveMaxAgeMinutes", 5, "greater than or equal to 6"),
        ("alerts", "driftPersistentRuns", 1, "greater than or equal to 2"),
        ("ruleLabels", "release name", "x", "not Kubernetes label keys: release name"),
        ("runbookUrl", None, "http://wiki/runbook", "String should match pattern"),
    ],
)
def test_observability_values_are_checked_when_they_are_out_of_range(
    section: str, key: str | None, value: object, allowed: str
) -> None:
    raw = dev()
    if key is None:
        raw["observability"][section] = value
    else:
        raw["observability"].setdefault(section, {})[key] = value
    [problem] = problems(raw)
    assert problem.startswith(f"coder-platform:observability.{section}")
    assert allowed in problem
    if isinstance(value, str) and section != "ruleLabels":
        assert value not in problem  # values are never echoed


# --- what the config implies --------------------------------------------------------------


def test_stack_gets_all_thirteen_alerts_when_everything_is_on() -> None:
    assert len(names(dev())) == 13


def test_reconcile_alerts_are_left_out_when_the_reconciler_runs_as_an_operator() -> None:
    raw = dev()
    raw["reconciler"]["mode"] = "operator"
    raw["reconciler"]["operator"] = {"repoUrl": "https://git.corp.internal/platform/coder.git"}
    left = names(raw)
    assert not [n for n in left if "Reconcile" in n or "Drift" in n or "Token" in n]
    assert "CoderDatabaseNotReady" in left


def test_drill_alerts_are_left_out_when_the_drill_is_off() -> None:
    raw = dev()
    raw["restoreDrill"]["enabled"] = False
    assert not [n for n in names(raw) if "RestoreDrill" in n]


def test_dashboard_draws_the_stack_thresholds_when_built_from_config() -> None:
    config = load_config(dev())
    inputs = inputs_from_config(config, "dev")
    document = build_dashboard(inputs)
    text = json.dumps(document)
    assert document["uid"] == "coder-platform-dev"
    assert '{stack=\\"dev\\",command=\\"reconcile\\"}' in text
    assert "coder_platform_restore_drill_rto_seconds" in text
    assert "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp" in text
    [token] = [p for p in document["panels"] if p.get("title") == "Automation token expires in"]
    steps = token["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[1] == {"value": 96 * 3600, "color": "green"}
    assert {p["type"] for p in document["panels"]} == {"row", "timeseries", "stat"}
