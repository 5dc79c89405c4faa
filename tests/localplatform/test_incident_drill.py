"""The incident drill deletes a database on purpose: it runs only on a loopback stack on the
local node, as root; its runbook step is the runbook's, and its RPO is what did not come back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from coder_platform.config import read_stack_file
from coder_platform.contracts import PROJECT
from localplatform.__main__ import app
from localplatform.binaries import ROOT
from localplatform.coder_data import CoderData
from localplatform.incident_drill import (
    Incident,
    IncidentDrillRefusedError,
    follow_runbook,
    measure,
    refuse_unless_loopback,
)
from localplatform.project_copy import edit_stack_config

STACKS = ROOT / "stacks"


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)


@pytest.mark.usefixtures("as_root")
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_drill_is_refused_when_the_stack_is_managed(stack: str) -> None:
    with pytest.raises(IncidentDrillRefusedError, match=f"environment is '{stack}'"):
        refuse_unless_loopback(STACKS / f"Pulumi.{stack}.yaml")


@pytest.mark.usefixtures("as_root")
def test_the_drill_is_refused_when_the_database_is_not_on_the_local_node() -> None:
    with pytest.raises(IncidentDrillRefusedError, match=r"storage\.provisioner is 'disk\.csi"):
        refuse_unless_loopback(STACKS / "Pulumi.local.yaml")


def test_the_drill_is_refused_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(IncidentDrillRefusedError, match="needs root"):
        refuse_unless_loopback(STACKS / "Pulumi.node.yaml")


@pytest.mark.usefixtures("as_root")
def test_the_drill_takes_the_node_stack() -> None:
    config = refuse_unless_loopback(STACKS / "Pulumi.node.yaml")
    assert config.database is not None and config.database.backup is not None


@pytest.mark.usefixtures("as_root")
def test_the_cli_refuses_a_managed_stack_before_starting_anything() -> None:
    result = CliRunner().invoke(app, ["incident-drill", "--stack", "prod"])
    assert result.exit_code == 2
    assert "incident-drill refused: Pulumi.prod.yaml: environment is 'prod'" in result.output


def test_the_runbook_step_bumps_the_generation_and_turns_recovery_on(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.node.yaml"
    shutil.copy(STACKS / "Pulumi.node.yaml", stack_file)
    before = read_stack_file(stack_file)
    assert before.database is not None
    assert follow_runbook(stack_file, before.database.generation) == before.database.generation + 1
    after = read_stack_file(stack_file)
    assert after.database is not None
    assert after.database.generation == before.database.generation + 1
    assert after.database.recovery is not None and after.database.recovery.enabled
    # Nothing else in the stack changed.
    assert after.model_dump(exclude={"database_section"}) == before.model_dump(
        exclude={"database_section"}
    )


def _incident(markers: dict[int, float]) -> Incident:
    return Incident(
        markers, CoderData({}, {}, {}), archive_timeout_seconds=300, volume="pv", deleted_at=100.0
    )


def test_rpo_is_zero_when_every_row_comes_back() -> None:
    figures = measure(
        _incident({1: 10.0, 2: 11.0, 3: 12.0}), {1, 2, 3}, database_at=150.0, coder_at=190.5
    )
    assert figures["rpo_seconds"] == 0.0
    assert figures["rto_seconds"] == 90.5  # to Coder answering with its data, not the database
    assert figures["database_back_seconds"] == 50.0
    assert figures["namespace_gone_seconds"] == 0.0  # not seen gone: no time claimed for it


def test_the_rto_shows_how_much_of_it_the_namespace_took_to_go() -> None:
    incident = _incident({1: 10.0})
    incident.gone_at = 130.0  # CNPG's smart shutdown waits for Coder's connections first
    figures = measure(incident, {1}, database_at=150.0, coder_at=160.0)
    assert (figures["namespace_gone_seconds"], figures["rto_seconds"]) == (30.0, 60.0)
    assert figures["markers_lost"] == []


def test_rpo_is_the_newest_lost_row_minus_the_newest_back_when_rows_are_lost() -> None:
    markers = {1: 10.0, 2: 11.0, 3: 12.0, 4: 20.0, 5: 21.0, 6: 22.5}
    figures = measure(_incident(markers), {1, 2, 3, 4}, database_at=200.0, coder_at=210.0)
    assert figures["rpo_seconds"] == 2.5
    assert figures["markers_back"] == [1, 2, 3, 4]
    assert figures["markers_lost"] == [5, 6]


@pytest.mark.usefixtures("as_root")
def test_the_drill_is_refused_when_coder_does_not_run_on_the_stacks_database(
    tmp_path: Path,
) -> None:
    stack_file = tmp_path / "Pulumi.node.yaml"
    shutil.copy(STACKS / "Pulumi.node.yaml", stack_file)

    def host_coder(config: dict[str, Any]) -> None:
        config[f"{PROJECT}:coder"] = {"deploy": False, "url": "http://127.0.0.1:17080"}

    edit_stack_config(stack_file, host_coder)
    with pytest.raises(IncidentDrillRefusedError, match=r"coder\.deploy is not true"):
        refuse_unless_loopback(stack_file)


def test_the_drill_is_refused_naming_the_file_when_the_stack_does_not_exist() -> None:
    with pytest.raises(IncidentDrillRefusedError, match=r"Pulumi\.nope\.yaml.*no such stack file"):
        refuse_unless_loopback(STACKS / "Pulumi.nope.yaml")
