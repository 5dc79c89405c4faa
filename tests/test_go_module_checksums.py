"""Every script that builds Go verifies module checksums, and every wrapper commits its go.sum.

The integration tier (tests/integration/test_go_module_checksums.py) shows the real ``go``
refusing a wrong or missing go.sum line under scripts/toolchain/go-env. These tests hold the
scripts to that environment: each one that runs ``go`` sources go-env and none turns the
checksum database off, and install-node (the node's kubelet, CoreDNS, CNPG, ... builds) hands
``go`` the verified environment even when its caller says ``GOSUMDB=off``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from testbed.harness import ROOT

SCRIPTS = ROOT / "scripts"
GO_COMMAND = re.compile(r"\bgo (build|install|get|mod (download|tidy)|list)\b|\bgobuild\b")
SOURCES_GO_ENV = re.compile(r'^\s*source "\$repo/scripts/toolchain/go-env"\s*$', re.MULTILINE)


def go_building_scripts() -> list[Path]:
    found = [
        path
        for path in sorted(SCRIPTS.rglob("*"))
        if path.is_file() and path.name != "go-env" and GO_COMMAND.search(path.read_text())
    ]
    assert found, "no script builds Go: the pattern no longer matches the scripts"
    return found


@pytest.mark.parametrize("script", go_building_scripts(), ids=lambda p: p.name)
def test_script_verifies_checksums_when_it_runs_go(script: Path) -> None:
    text = script.read_text()
    assert SOURCES_GO_ENV.search(text), f"{script.name} runs go without scripts/toolchain/go-env"
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\bexport\b[^\n]*\bGO(SUMDB|NOSUMDB|PRIVATE|INSECURE)=", code), (
        f"{script.name} sets its own checksum settings after go-env"
    )
    assert "GOSUMDB=off" not in code


def wrappers_with_requirements() -> list[Path]:
    return [
        go_mod.parent
        for go_mod in sorted((ROOT / "tools").glob("*/go.mod"))
        if re.search(r"^require\b", go_mod.read_text(), re.MULTILINE)
    ]


@pytest.mark.parametrize("wrapper", wrappers_with_requirements(), ids=lambda p: p.name)
def test_wrapper_commits_its_go_sum_when_it_requires_modules(wrapper: Path) -> None:
    """Completeness is the build's to check (-mod=readonly fails on a missing line); a wrapper
    without a go.sum would have every module looked up, never pinned."""
    go_sum = wrapper / "go.sum"
    assert go_sum.is_file(), f"tools/{wrapper.name} requires modules but commits no go.sum"
    assert re.search(r"^\S+ v\S+ h1:\S+$", go_sum.read_text(), re.MULTILINE)


RECORDING_GO = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    # Records the checksum settings it was run with; "builds" the -o target.
    printf 'GOSUMDB=%s GONOSUMDB=%s GOPRIVATE=%s GOFLAGS=%s\\n' \\
      "${GOSUMDB-unset}" "${GONOSUMDB-unset}" "${GOPRIVATE-unset}" "${GOFLAGS-unset}" >>"$GO_LOG"
    echo "go $*" >>"$GO_LOG"
    while (($#)); do
      if [[ $1 == -o ]]; then printf '#!/bin/sh\\n' >"$2"; chmod +x "$2"; fi
      shift
    done
    """
)


def test_install_node_builds_with_checksums_verified_when_the_caller_turns_them_off(
    tmp_path: Path,
) -> None:
    layout = tmp_path / "repo"
    (layout / "scripts" / "toolchain").mkdir(parents=True)
    shutil.copy(SCRIPTS / "install-node", layout / "scripts")
    shutil.copy(SCRIPTS / "toolchain" / "go-env", layout / "scripts" / "toolchain")
    (layout / "tools").mkdir()
    for pins in ("versions.env", "crd-versions.env", "node-versions.env"):
        shutil.copy(ROOT / "tools" / pins, layout / "tools")
    shutil.copytree(ROOT / "tools" / "pause", layout / "tools" / "pause")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "go").write_text(RECORDING_GO)
    (bin_dir / "go").chmod(0o755)
    log = tmp_path / "go.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GO_LOG": str(log),
        "CODER_PLATFORM_NODE_CACHE": str(tmp_path / "node-cache"),
        "GOSUMDB": "off",
        "GONOSUMDB": "*",
        "GOPRIVATE": "*",
        "GOFLAGS": "-mod=mod",
    }

    built = subprocess.run(
        [layout / "scripts" / "install-node", "pause"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert built.returncode == 0, built.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "GOSUMDB=sum.golang.org GONOSUMDB= GOPRIVATE= GOFLAGS=-buildvcs=false"
    assert calls[1].startswith("go build -trimpath -mod=readonly ")
