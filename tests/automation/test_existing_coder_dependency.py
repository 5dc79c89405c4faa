"""An existing Coder (``coder.deploy: false``) is a dependency like Vault: when it does not
answer, the run stops at observe with exit 13 naming it, before any engine operation. A Coder
the stack deploys stays the run's to heal (its probe failing is not fatal)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from automation.engine.protocol import PolicySettings
from automation.reconcile import ReconcileOptions, reconcile
from coder_platform.contracts import ExitCode
from testbed.harness import load_stack_file
from tests.automation.fakes import FakeDependencies, converged_world, dev_config
from tests.automation.runs import run

POLICY = PolicySettings(Path("policy"), Path("policy/config/dev.json"))


def existing_coder_config() -> dict[str, object]:
    coder = copy.deepcopy(load_stack_file("dev")["coder"])
    coder |= {"deploy": False, "url": "https://coder.elsewhere.example"}
    return {"coder": coder}


def test_an_existing_coder_that_does_not_answer_exits_13_naming_it(tmp_path: Path) -> None:
    engine, site = converged_world()
    engine.config_entries = dev_config(**existing_coder_config())
    site.down_for_clients = 99
    settings = ReconcileOptions(policy=POLICY, dependency_deadline_seconds=5)

    captured = run(engine, lambda s: reconcile(s, settings, FakeDependencies(site)), tmp_path)

    assert captured.report.exit_code == ExitCode.DEPENDENCY_UNREACHABLE
    assert "preview" not in engine.calls and "up" not in engine.calls
    assert "coder" in json.loads(captured.stderr.splitlines()[-1])["message"]


def test_a_deployed_coder_that_does_not_answer_at_observe_does_not_stop_the_run(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    site.down_for_clients = 1
    settings = ReconcileOptions(policy=POLICY, dependency_deadline_seconds=5)

    captured = run(engine, lambda s: reconcile(s, settings, FakeDependencies(site)), tmp_path)

    assert captured.report.exit_code != ExitCode.DEPENDENCY_UNREACHABLE
    assert "preview" in engine.calls


def test_an_existing_coder_whose_database_is_down_exits_13_naming_it_with_nothing_written(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.config_entries = dev_config(**existing_coder_config())
    site.coder.database_down = True
    settings = ReconcileOptions(policy=POLICY, dependency_deadline_seconds=1)

    captured = run(engine, lambda s: reconcile(s, settings, FakeDependencies(site)), tmp_path)

    assert captured.report.exit_code == ExitCode.DEPENDENCY_UNREACHABLE
    assert "preview" not in engine.calls and "up" not in engine.calls
    message = json.loads(captured.stderr.splitlines()[-1])["message"]
    assert "Coder answers but cannot reach its database" in message
    assert "Check Coder's database" in message
    assert site.coder.writes() == 0
