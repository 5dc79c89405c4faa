"""The command line: help that reads like a finished tool, and exit codes end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation import cli
from automation.engine.backend import BackendSettings
from automation.outcome import ExitCode
from coder_platform.redaction import Redactor
from tests.automation import state_fixture as fx
from tests.automation.fakes import FakeDependencies, FakeEngine, converged_world
from tests.automation.runs import managed_environ

COMMANDS = ("preview", "up", "drift", "reconcile", "destroy", "report")


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    directory = tmp_path / "pack"
    directory.mkdir()
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\n")
    return directory


def install(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    engine: FakeEngine,
    dependencies: FakeDependencies,
) -> None:
    def factory(
        stack: str, work_dir: Path, backend: BackendSettings, redactor: Redactor
    ) -> FakeEngine:
        return engine

    monkeypatch.setattr(cli, "engine_factory", factory)
    monkeypatch.setattr(cli, "dependency_factory", dependencies)
    for key, value in managed_environ(tmp_path).items():
        monkeypatch.setenv(key, value)


def test_help_lists_every_command_and_the_exit_codes_when_run_without_arguments() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
    for code in ExitCode:
        assert f"{int(code):>3}  " in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_documents_the_stack_option_when_asked_for_any_command(command: str) -> None:
    result = CliRunner().invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0
    assert "--stack" in result.output


def test_bad_stack_name_is_a_usage_error_when_it_could_escape_the_report_dir() -> None:
    result = CliRunner().invoke(cli.app, ["report", "--stack", "../etc"])
    assert result.exit_code == ExitCode.USAGE


def test_exit_code_and_json_report_reach_the_caller_when_reconcile_heals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pack: Path
) -> None:
    engine, site = converged_world()
    engine.drift = {fx.DB_CLUSTER: ("spec.instances",)}
    install(monkeypatch, tmp_path, engine, FakeDependencies(site))

    result = CliRunner().invoke(
        cli.app,
        [
            "reconcile",
            "--stack",
            "dev",
            "--policy-pack",
            str(pack),
            "--report-dir",
            str(tmp_path / "reports"),
            "--dependency-timeout",
            "5",
        ],
    )

    assert result.exit_code == ExitCode.HEALED
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["schema"] == "coder-platform.run-report/v1"
    assert report["outcome"] == "healed" and report["exit_code"] == 10
    assert (tmp_path / "reports" / "dev" / "latest.json").exists()


def test_report_prints_the_last_run_for_humans_when_one_was_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pack: Path
) -> None:
    engine, site = converged_world()
    install(monkeypatch, tmp_path, engine, FakeDependencies(site))
    runner = CliRunner()
    runner.invoke(
        cli.app,
        [
            "reconcile",
            "--stack",
            "dev",
            "--policy-pack",
            str(pack),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
    )

    result = runner.invoke(
        cli.app, ["report", "--stack", "dev", "--report-dir", str(tmp_path / "reports")]
    )

    assert result.exit_code == 0
    assert "reconcile dev: converged (exit 0)" in result.output
    assert "observe" in result.output and "verify" in result.output


def test_report_exits_2_with_a_hint_when_no_run_happened_yet(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.app, ["report", "--stack", "dev", "--report-dir", str(tmp_path)]
    )
    assert result.exit_code == ExitCode.USAGE
    assert "python -m automation reconcile --stack dev" in result.output


def test_config_error_names_the_fix_when_the_policy_pack_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine, site = converged_world()
    install(monkeypatch, tmp_path, engine, FakeDependencies(site))

    result = CliRunner().invoke(
        cli.app,
        [
            "reconcile",
            "--stack",
            "dev",
            "--policy-pack",
            str(tmp_path / "nowhere"),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
    )

    assert result.exit_code == ExitCode.CONFIG_INVALID
    assert "--policy-pack" in result.output.strip().splitlines()[-1]


def test_usage_error_when_break_stale_lock_after_is_not_a_duration() -> None:
    result = CliRunner().invoke(
        cli.app, ["reconcile", "--stack", "dev", "--break-stale-lock-after", "soon"]
    )
    assert result.exit_code == ExitCode.USAGE
