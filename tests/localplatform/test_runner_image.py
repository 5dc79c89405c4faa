"""The node's runner image follows the project's Dockerfile (localplatform.images.runner).

The recipe reads ENV, USER, WORKDIR, ENTRYPOINT, CMD and the runner account from the Dockerfile
and fills each COPY of its final stage from this host's builds; these tests read the real
Dockerfile, so a new COPY or RUN there fails here until the recipe follows it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coder_platform.specs.jobs import RUN_AS
from localplatform.daemon import PartError
from localplatform.images.runner import (
    TOOLCHAIN_FILES,
    Copy,
    RunnerInputs,
    account_files,
    copy_recipe,
    extra_entries,
    final_stage,
    runner,
)
from testbed.harness import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _inputs(root: Path) -> RunnerInputs:
    return RunnerInputs(root, root / "bin", root / "venv", root / "policy-venv")


def test_every_copy_of_the_final_stage_has_a_recipe_when_read_from_the_dockerfile() -> None:
    stage = final_stage(DOCKERFILE)

    assert stage.copies, "the final stage copies nothing: the parser lost the COPY lines"
    assert set(stage.copies) == set(copy_recipe(_inputs(ROOT)))


def test_the_final_stage_runs_the_runner_as_the_cronjobs_uid_when_read_from_the_dockerfile() -> (
    None
):
    stage = final_stage(DOCKERFILE)
    passwd = {e.path: e.data for e in account_files(stage.runs)}["etc/passwd"]

    assert stage.user == f"{RUN_AS}:{RUN_AS}"
    assert passwd is not None and f"runner:x:{RUN_AS}:{RUN_AS}::/tmp:" in passwd.decode()
    assert stage.entrypoint == ["python", "-m", "automation"]
    assert stage.env["PATH"].split(":")[:2] == ["/app/.venv/bin", "/opt/pulumi/bin"]
    assert stage.workdir == "/app"


def test_the_environment_spans_continuation_lines_when_env_sets_several_keys() -> None:
    stage = final_stage('FROM a\nENV A=1 \\\n    B="two words" \\\n    C=3\nUSER 1:1\n')

    assert stage.env == {"A": "1", "B": "two words", "C": "3"}
    assert stage.user == "1:1"


def test_only_the_last_stage_counts_when_the_dockerfile_has_several() -> None:
    stage = final_stage("FROM a AS build\nCOPY x /x\nFROM b\nCOPY --from=build /x /y\n")

    assert stage.copies == [Copy("build", "/x", "/y")]


def test_an_instruction_the_recipe_does_not_follow_is_refused_when_in_the_final_stage() -> None:
    with pytest.raises(ValueError, match="VOLUME"):
        final_stage("FROM a\nVOLUME /data\n")


def test_a_second_run_in_the_final_stage_is_refused_when_the_recipe_knows_one() -> None:
    with pytest.raises(ValueError, match="2 commands"):
        account_files(["groupadd --gid 1 a", "apt-get install -y curl"])


def test_a_new_copy_fails_the_build_naming_it_when_the_dockerfile_gains_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE + "COPY extra/ /opt/extra/\n")

    with pytest.raises(PartError, match=r"source='extra/'.*copy_recipe"):
        runner(_inputs(tmp_path))


def test_the_copied_context_leaves_local_secrets_out_when_they_are_on_disk(
    tmp_path: Path,
) -> None:
    for name in (
        ".dockerignore",
        "Dockerfile",
        "__main__.py",
        "automation/__main__.py",
        "stacks/Pulumi.node.yaml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for secret in (
        ".localplatform/openbao/init.json",
        ".venv/bin/python",
        ".pulumi-state/x.json",
        "stacks/backup-writer.key",
        "tests/test_x.py",
    ):
        (tmp_path / secret).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / secret).write_text("secret")
    context = next(
        make for copy, make in copy_recipe(_inputs(tmp_path)).items() if copy.stage is None
    )

    paths = {entry.path for entry in context()}

    assert paths == {
        "app/__main__.py",
        "app/automation/__main__.py",
        "app/stacks/Pulumi.node.yaml",
    }


def test_the_stacks_chart_copy_goes_in_alone_when_its_directory_holds_secrets_beside_it(
    tmp_path: Path,
) -> None:
    """The in-cluster reconcile installs Coder from coder.chartPath inside the image; the chart
    lives under .localplatform/, which the context leaves out for the OpenBao keys there."""
    chart = tmp_path / ".localplatform" / "coder-chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: coder\n")
    (chart / "templates" / "coder.yaml").write_text("kind: Deployment\n")
    (tmp_path / ".localplatform" / "openbao").mkdir()
    (tmp_path / ".localplatform" / "openbao" / "init.json").write_text("secret")
    inputs = RunnerInputs(
        tmp_path,
        tmp_path / "bin",
        tmp_path / "venv",
        tmp_path / "policy-venv",
        extras=((".localplatform/coder-chart", chart),),
    )

    paths = {entry.path for entry in extra_entries(inputs)}

    assert paths == {
        "app/.localplatform/coder-chart/Chart.yaml",
        "app/.localplatform/coder-chart/templates/coder.yaml",
    }
    assert extra_entries(_inputs(tmp_path)) == []  # dev/prod's recipe: the Dockerfile alone


def test_the_toolchain_copy_carries_the_plugin_scripts_and_no_language_host_in_both_recipes(
    tmp_path: Path,
) -> None:
    """The legacy language host on PATH makes the engine start the policy pack through it,
    which fails ("could not read plugin [/app/policy]", seen in a reconciler pod on the node)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in (*TOOLCHAIN_FILES, "pulumi-language-python", "etcd"):
        (bin_dir / name).write_text("x")
    toolchain = Copy("toolchain", "/opt/pulumi/bin/", "/opt/pulumi/bin/")

    entries = copy_recipe(_inputs(tmp_path))[toolchain]()

    names = {Path(e.path).name for e in entries}
    assert names == {"pulumi", "pulumi-resource-kubernetes", "pulumi-resource-pulumi-python",
                     "pulumi-analyzer-policy-python"}  # fmt: skip
    # The Dockerfile's toolchain stage copies the same tools, with the host off PATH.
    assert "--print-env --no-python-host" in DOCKERFILE
    assert all(name in DOCKERFILE for name in names)
    assert "pulumi-language-python" not in DOCKERFILE
