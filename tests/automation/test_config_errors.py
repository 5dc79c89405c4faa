"""Config errors as a user meets them: where the problem is, what is allowed, as documented."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from automation import commands
from automation.engine.backend import stack_environment
from automation.engine.protocol import ConfigEntry, PolicySettings
from automation.errors import ConfigInvalidError
from coder_platform.contracts import ExitCode
from testbed.harness import ROOT
from tests.automation.fakes import converged_world
from tests.automation.runs import run

POLICY = PolicySettings(Path("policy"))


def preview_error(tmp_path: Path, **database: int) -> str:
    engine, _ = converged_world()
    current = json.loads(engine.config_entries["coder-platform:database"].value)
    backup = current.setdefault("backup", {})
    for key, value in database.items():
        (backup if key == "retentionDays" else current)[key] = value
    engine.config_entries["coder-platform:database"] = ConfigEntry(json.dumps(current))
    captured = run(
        engine, lambda s: commands.preview(s, POLICY), tmp_path, command="preview", output="human"
    )
    assert captured.report.exit_code == ExitCode.CONFIG_INVALID
    return captured.stderr.strip().splitlines()[-1]


def test_readme_sample_config_error_is_what_the_runner_prints_when_two_keys_are_wrong(
    tmp_path: Path,
) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configure a stack") :]
    sample = re.search(r"```text\n(.*?)\n```", section, re.S)
    assert sample is not None, "the README shows a sample config error"

    printed = preview_error(tmp_path, instances=0, retentionDays=0)

    assert sample.group(1) == printed


def test_protected_error_lists_the_allowed_values_when_it_is_not_a_boolean(
    tmp_path: Path,
) -> None:
    engine, _ = converged_world()
    engine.config_entries["coder-platform:protected"] = ConfigEntry("maybe")

    captured = run(
        engine, lambda s: commands.preview(s, POLICY), tmp_path, command="preview", output="json"
    )

    error = captured.report.error
    assert error is not None and "coder-platform:protected" in error.message
    assert "Allowed: true or false" in error.message
    assert "maybe" not in captured.everything


@pytest.mark.parametrize("bad", ["Pulumi.yaml", "stacks/Pulumi.local.yaml"])
def test_invalid_yaml_names_the_file_and_line_when_a_stack_file_is_broken(
    tmp_path: Path, bad: str
) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "Pulumi.local.yaml", tmp_path / "stacks" / "Pulumi.local.yaml")
    lines = (tmp_path / bad).read_text().splitlines()
    lines.insert(1, "this: is: not: yaml")
    (tmp_path / bad).write_text("\n".join(lines) + "\n")

    with pytest.raises(ConfigInvalidError) as raised:
        stack_environment(tmp_path, "local")

    assert f"{bad}:2:" in raised.value.what
    assert "is not valid YAML" in raised.value.what
