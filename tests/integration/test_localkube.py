"""``python -m localkube``: the embedded default's cluster starts, is reused, and stops."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def localkube(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localkube", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_up_prints_a_kubeconfig_reuses_the_cluster_and_down_stops_it(
    toolchain_env: dict[str, str], tmp_path: Path
) -> None:
    directory = str(tmp_path / "kube")
    first = localkube(toolchain_env, "up", "--dir", directory)
    try:
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("export KUBECONFIG=")
        kubeconfig = Path(first.stdout.strip().split("=", 1)[1])
        assert kubeconfig.exists()

        again = localkube(toolchain_env, "up", "--dir", directory)
        assert again.returncode == 0
        assert "already running" in again.stderr
        assert again.stdout == first.stdout

        assert localkube(toolchain_env, "status", "--dir", directory).returncode == 0
        server = json.loads((Path(directory) / "state.json").read_text())["server"]
    finally:
        stopped = localkube(toolchain_env, "down", "--dir", directory)
    assert stopped.returncode == 0, stopped.stderr
    assert localkube(toolchain_env, "status", "--dir", directory).returncode == 1
    # Nothing is left behind: the API server's port no longer answers.
    port = int(server.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
