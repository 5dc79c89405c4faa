"""The runner's scope guards: an operators-scope stack is refused in-cluster, and an app stack
whose state still holds the operators is refused an update that would uninstall them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from automation import commands
from automation.engine.protocol import ConfigEntry, PolicySettings
from automation.observe import kube_endpoint
from automation.outcome import Outcome
from automation.reconcile import ReconcileOptions, reconcile
from coder_platform.contracts import ComponentType, ExitCode
from testbed.harness import as_pulumi_config, load_stack_file
from tests.automation import state_fixture as fx
from tests.automation.fakes import FakeDependencies, converged_world
from tests.automation.runs import run

POLICY = PolicySettings(Path("policy"), Path("policy/config/dev.json"))
OPERATORS = fx.urn(ComponentType.OPERATORS, "operators")
OPERATOR_RELEASE = fx.urn(
    f"{ComponentType.OPERATORS}$kubernetes:helm.sh/v3:Release", "operators-cnpg"
)


def _entries(stack: str) -> dict[str, ConfigEntry]:
    return {k: ConfigEntry(v) for k, v in as_pulumi_config(load_stack_file(stack)).items()}


def _in_a_pod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What a Job's pod sees: the API server's Service and the mounted service account CA."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(kube_endpoint, "SERVICE_ACCOUNT_DIR", account)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")


@pytest.mark.parametrize("command", ["up", "preview", "drift"])
def test_an_operators_stack_is_refused_before_anything_runs_when_the_run_is_in_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    _in_a_pod(monkeypatch, tmp_path)
    engine, _ = converged_world()
    engine.config_entries = _entries("dev-operators")
    body = {
        "up": lambda session: commands.up(session, POLICY),
        "preview": lambda session: commands.preview(session, POLICY),
        "drift": commands.drift,
    }[command]

    captured = run(engine, body, tmp_path, command=command)

    assert captured.report.exit_code == ExitCode.REFUSED
    assert "operators-scope stack" in captured.stderr + captured.stdout
    assert not {"up", "preview", "preview_refresh"} & set(engine.calls)


def test_an_operators_stack_runs_when_an_admin_runs_it_outside_the_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    engine, _ = converged_world()
    engine.config_entries = _entries("dev-operators")

    captured = run(engine, lambda session: commands.up(session, POLICY), tmp_path, command="up")

    assert captured.report.exit_code in (ExitCode.OK, ExitCode.HEALED)
    assert "up" in engine.calls


def test_an_app_stack_is_not_refused_when_the_run_is_in_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The reconciler's own stack runs in-cluster as before: the guard is the scope's."""
    _in_a_pod(monkeypatch, tmp_path)
    engine, site = converged_world()
    settings = ReconcileOptions(policy=POLICY, dependency_deadline_seconds=5)

    captured = run(
        engine, lambda session: reconcile(session, settings, FakeDependencies(site)), tmp_path
    )

    assert captured.report.outcome is Outcome.CONVERGED


def _holding_the_operators(state: dict[str, Any]) -> dict[str, Any]:
    held = copy.deepcopy(state)
    held["deployment"]["resources"] += [
        {"urn": OPERATORS, "type": str(ComponentType.OPERATORS), "parent": fx.STACK_URN},
        {
            "urn": OPERATOR_RELEASE,
            "type": "kubernetes:helm.sh/v3:Release",
            "parent": OPERATORS,
            "custom": True,
            "provider": fx.K8S_PROVIDER_REF,
        },
    ]
    return held


@pytest.mark.parametrize("command", ["up", "reconcile"])
def test_an_update_that_would_uninstall_the_operators_is_refused_when_state_still_holds_them(
    tmp_path: Path, command: str
) -> None:
    engine, site = converged_world()
    engine.state = _holding_the_operators(engine.state)
    settings = ReconcileOptions(policy=POLICY, dependency_deadline_seconds=5)
    body = (
        (lambda session: commands.up(session, POLICY))
        if command == "up"
        else (lambda session: reconcile(session, settings, FakeDependencies(site)))
    )

    captured = run(engine, body, tmp_path, command=command)

    assert captured.report.exit_code == ExitCode.REFUSED
    said = captured.stderr + captured.stdout
    assert "pulumi state move" in said and "dev-operators" in said
    assert "up" not in engine.calls and "preview" not in engine.calls
