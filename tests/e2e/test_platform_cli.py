"""``python -m localplatform``: status shows each part, and one part stops and starts again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from localplatform.platform import PARTS
from testbed.mission import ROOT, Mission

pytestmark = pytest.mark.e2e


def localplatform(mission: Mission, *args: str) -> subprocess.CompletedProcess[str]:
    platform = mission.platform
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "localplatform",
            *args,
            "--dir",
            str(platform.directory),
            "--kube-dir",
            str(platform.kube_dir),
            "--coder-port",
            str(platform.coder_port),
            "--openbao-port",
            str(platform.openbao_port),
        ],
        cwd=ROOT,
        env=mission.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def states(out: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()}


def test_status_lists_every_part_running_with_where_it_answers(mission: Mission) -> None:
    status = localplatform(mission, "status")
    assert status.returncode == 0, status.stderr
    assert states(status.stdout) == {
        "kube": "running",
        "postgres": "running",
        "openbao": "running",
        "coder": "running",
    }
    assert mission.coder_url in status.stdout
    assert mission.platform.openbao.root_token() not in status.stdout + status.stderr


def test_a_stopped_part_shows_stopped_and_comes_back_when_started(mission: Mission) -> None:
    assert localplatform(mission, "stop", "coder").returncode == 0
    stopped = localplatform(mission, "status")
    assert stopped.returncode == 1
    assert states(stopped.stdout)["coder"] == "stopped"
    started = localplatform(mission, "start", "coder")
    assert started.returncode == 0, started.stderr
    assert mission.platform.coder.ready()
    assert localplatform(mission, "status").returncode == 0


def test_up_on_a_running_platform_starts_nothing_and_prints_the_environment(
    mission: Mission,
) -> None:
    platform = mission.platform
    pids = {part: platform.running(part) and platform.daemon(part).pid() for part in PARTS[1:]}
    up = localplatform(mission, "up")
    assert up.returncode == 0, up.stderr
    assert "starting" not in up.stderr
    assert f"export CODER_URL={mission.coder_url}" in up.stdout
    assert {part: platform.daemon(part).pid() for part in PARTS[1:]} == pids


@pytest.mark.parametrize("script", ["install-toolchain", "install-platform"])
def test_an_install_script_says_one_line_when_everything_is_cached(script: str) -> None:
    # The e2e tier runs after both scripts built everything (scripts/test), so both are cached.
    out = subprocess.run(
        [ROOT / "scripts" / script], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    [line] = out.stdout.splitlines()
    assert line.split(":")[0] in ("toolchain", "platform") and " cached (" in line
