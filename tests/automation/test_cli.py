"""The command line: help that reads like a finished tool, and exit codes end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation import cli
from automation.engine.backend import BackendSettings
from automation.outcome import MEANINGS, Outcome
from automation.reporting.report import ReportBuilder, ResourceReport, RunReport, write_report
from coder_platform.contracts import ExitCode
from coder_platform.redaction import Redactor
from testbed.harness import ROOT
from tests.automation import state_fixture as fx
from tests.automation.fakes import FakeDependencies, FakeEngine, converged_world
from tests.automation.runs import managed_environ

COMMANDS = ("preview", "up", "drift", "reconcile", "destroy", "report")
REPORT_COMMAND = (sys.executable, "-m", "automation", "report", "--stack", "dev")


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


def recorded_report(report_dir: Path) -> RunReport:
    builder = ReportBuilder("drift", "dev")
    builder.drifted[fx.DB_CLUSTER] = ResourceReport(
        urn=fx.DB_CLUSTER,
        type="kubernetes:postgresql.cnpg.io/v1:Cluster",
        properties=['metadata.annotations["coder-platform.io/reconcile-interval-seconds"]'],
    )
    report = builder.finish(Outcome.DRIFT)
    write_report(report, report_dir)
    return report


@pytest.mark.parametrize("output", ["json", "human", "auto"])
def test_report_accepts_output_like_every_other_command_when_asked(
    tmp_path: Path, output: str
) -> None:
    recorded = recorded_report(tmp_path)
    result = CliRunner().invoke(
        cli.app, ["report", "--stack", "dev", "--report-dir", str(tmp_path), "--output", output]
    )
    assert result.exit_code == 0, result.output
    if output == "human":
        assert "drift dev: drift (exit 11)" in result.output
    else:  # auto off a terminal is JSON, as for every command
        assert json.loads(result.output)["run_id"] == recorded.run_id


def test_human_tables_are_not_cut_to_80_columns_when_stdout_is_not_a_terminal(
    tmp_path: Path,
) -> None:
    recorded_report(tmp_path)
    result = CliRunner().invoke(
        cli.app, ["report", "--stack", "dev", "--report-dir", str(tmp_path), "--output", "human"]
    )
    assert "…" not in result.output
    assert 'metadata.annotations["coder-platform.io/reconcile-interval-seconds"]' in result.output
    assert "kubernetes:postgresql.cnpg.io/v1:Cluster" in result.output


@pytest.mark.parametrize("output", ["json", "human"])
def test_report_exits_0_when_the_reader_of_its_output_goes_away(
    tmp_path: Path, output: str
) -> None:
    recorded_report(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that already exited: every write meets a closed pipe
    try:
        done = subprocess.run(
            [*REPORT_COMMAND, "--report-dir", str(tmp_path), "--output", output],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr


def test_docs_list_every_exit_code_with_the_runner_meaning_when_read() -> None:
    docs = (ROOT / "docs" / "runner.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} | {MEANINGS[code]} |" in docs
    for outcome in Outcome:
        assert f"`{outcome.value}`" in docs
