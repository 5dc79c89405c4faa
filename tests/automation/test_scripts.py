"""The shell entry points around the runner: quiet when nothing changed, stdout kept clean.

Each test runs the real script in a scratch copy of the layout it expects, with stand-ins
(recording their calls) for the virtualenvs, the toolchain and the platform, so the script's
own logic is what is tested, in milliseconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

from testbed.harness import ROOT

RECORDING_PYTHON = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    echo "$0 $*" >>"{log}"
    {body}
    """
)


def stand_in(path: Path, log: Path, body: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RECORDING_PYTHON.format(log=log, body=body))
    path.chmod(0o755)


def setup_venvs_copy(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup-venvs", tmp_path / "scripts")
    for name in ("requirements.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "policy").mkdir()
    shutil.copy(ROOT / "policy" / "requirements.txt", tmp_path / "policy")
    log = tmp_path / "calls.log"
    version = 'if [[ $1 == --version ]]; then echo "Python 3.11.2"; fi'
    for venv in (".venv", "policy/.venv"):
        stand_in(tmp_path / venv / "bin" / "python", log, version)
    return tmp_path / "scripts" / "setup-venvs", log


def pip_installs(log: Path) -> int:
    return sum("-m pip install" in line for line in log.read_text().splitlines())


def test_setup_venvs_installs_nothing_when_the_requirements_did_not_change(
    tmp_path: Path,
) -> None:
    script, log = setup_venvs_copy(tmp_path)

    first = subprocess.run([script], capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert pip_installs(log) == 2  # .venv and policy/.venv, once
    second = subprocess.run([script], capture_output=True, text=True, check=False)

    assert second.returncode == 0 and pip_installs(log) == 2
    assert first.stdout == second.stdout == ""


def test_setup_venvs_installs_again_when_a_requirement_changes(tmp_path: Path) -> None:
    script, log = setup_venvs_copy(tmp_path)
    subprocess.run([script], check=True, capture_output=True)

    with (tmp_path / "requirements.txt").open("a") as handle:
        handle.write("tomli==2.2.1\n")
    subprocess.run([script], check=True, capture_output=True)

    lines = [line for line in log.read_text().splitlines() if "-m pip install" in line]
    assert len(lines) == 3 and lines[-1].startswith(".venv/bin/python")


def test_reconcile_script_prints_only_the_runner_output_on_stdout_when_asked_for_json(
    tmp_path: Path,
) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "reconcile", tmp_path / "scripts")
    log = tmp_path / "calls.log"
    noisy = 'echo "==> pulumi v3.259.0 cached"; echo "toolchain: /cache/toolchain"'
    for name in ("setup-venvs", "install-toolchain", "install-platform"):
        body = (
            noisy
            if name != "install-toolchain"
            else (
                'if [[ ${1:-} == --print-env ]]; then echo "export PATH=$PATH"; else '
                + noisy
                + "; fi"
            )
        )
        stand_in(tmp_path / "scripts" / name, log, body)
    report = json.dumps({"schema": "coder-platform.run-report/v1", "exit_code": 0})
    python = f"""
    case "$*" in
      *"localplatform up"*) echo "export KUBECONFIG=/tmp/kubeconfig";;
      *"automation reconcile"*) echo '{report}'; echo '{{"kind": "phase"}}' >&2;;
      *) echo "Coder is at http://127.0.0.1:3000 (summary for a person)";;
    esac
    """
    stand_in(tmp_path / ".venv" / "bin" / "python", log, textwrap.dedent(python))

    done = subprocess.run(
        [tmp_path / "scripts" / "reconcile", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == "coder-platform.run-report/v1"
    assert "toolchain" in done.stderr and "Coder is at" in done.stderr
