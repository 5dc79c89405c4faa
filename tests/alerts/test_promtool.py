"""The alert rules under Prometheus' own rule engine: ``promtool test rules`` and ``check rules``.

The rule file is rendered here from ``coder_platform.observability.alerts``, the same
definitions the PrometheusRule is built from, with the inputs ``rules_test.yaml`` states in its
header. promtool comes from ``scripts/install-promtool`` (pinned in tools/platform-versions.env);
the tests marked ``promtool`` fail when it is missing. ``scripts/test`` runs them in a tier of
their own and prints NOT RUN when the machine cannot build promtool (no Go).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from coder_platform.config import load_config
from coder_platform.observability.alerts import AlertInputs, alerts, rule_file
from testbed.harness import ROOT, load_stack_file
from wiring.operations import inputs_from_config

HERE = Path(__file__).resolve().parent
TESTS = HERE / "rules_test.yaml"
RUNBOOK = ROOT / "docs" / "runbook.md"
# What rules_test.yaml's header says the rules were rendered with.
INPUTS = AlertInputs(
    stack="dev",
    database_namespace="coder-db",
    cluster_name="coder-db",
    instances=2,
    backup_period=timedelta(days=1),
    reconcile_interval_minutes=30,
    token_rotation_window_hours=96,
    drill_period=timedelta(days=1),
)


def promtool() -> str:
    """``$PROMTOOL``, the cached build, or one on PATH; a missing promtool fails the test."""
    candidates = [os.environ.get("PROMTOOL", "")]
    built = subprocess.run(
        [str(ROOT / "scripts" / "install-promtool"), "--print-path"],
        capture_output=True,
        text=True,
        check=False,
    )
    candidates += [
        built.stdout.strip() if built.returncode == 0 else "",
        shutil.which("promtool") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "promtool is not built: run scripts/install-promtool (Go 1.26+ and the module proxy), "
        "or set PROMTOOL; scripts/test runs this tier, or reports it NOT RUN without Go"
    )


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )


def cases() -> list[dict[str, object]]:
    document = yaml.safe_load(TESTS.read_text(encoding="utf-8"))
    return [
        {"name": group["name"], **check}
        for group in document["tests"]
        for check in group["alert_rule_test"]
    ]


@pytest.mark.promtool
def test_every_alert_fires_and_stays_silent_as_specified_when_promtool_evaluates(
    tmp_path: Path,
) -> None:
    (tmp_path / "rules.yaml").write_text(rule_file(INPUTS), encoding="utf-8")
    shutil.copy(TESTS, tmp_path / TESTS.name)
    result = run("test", "rules", TESTS.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.promtool
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_deployed_rules_pass_promtool_check_when_rendered_for_the_stack(
    stack: str, tmp_path: Path
) -> None:
    config = load_config(load_stack_file(stack))
    inputs = inputs_from_config(config, stack)
    path = tmp_path / f"{stack}.yaml"
    path.write_text(rule_file(inputs), encoding="utf-8")
    result = run("check", "rules", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts(inputs))} rules found" in result.stdout


def test_rules_test_file_has_a_firing_and_a_silent_case_when_an_alert_is_defined() -> None:
    firing = {c["alertname"] for c in cases() if c["exp_alerts"]}
    silent = {c["alertname"] for c in cases() if c["exp_alerts"] == []}
    defined = {alert.name for alert in alerts(INPUTS)}
    assert len(defined) == 13
    assert firing == defined, f"no firing case for {sorted(defined - firing)}"
    assert silent == defined, f"no silent case for {sorted(defined - silent)}"


def test_rules_test_header_states_the_inputs_when_the_rules_are_rendered() -> None:
    header = TESTS.read_text(encoding="utf-8").split("\nrule_files:", 1)[0]
    assert "2 instances" in header and "daily base backups" in header
    assert "every 30 minutes" in header and "96h" in header and "daily drill" in header


def test_every_alert_links_a_runbook_section_when_it_fires() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,4} (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.M)
    }
    for alert in alerts(INPUTS):
        rule = alert.rule(INPUTS)
        assert rule["annotations"]["runbook_url"] == f"docs/runbook.md#{alert.anchor}"
        assert alert.anchor in anchors, f"docs/runbook.md has no section for {alert.name}"
