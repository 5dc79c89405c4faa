"""Every Go build here verifies module checksums: a missing or wrong go.sum line fails it.

The install scripts source scripts/toolchain/go-env. These tests run the real `go` under that
environment against a module proxy on disk (GOPROXY=file://, the layout the module proxy
protocol defines: <module>/@v/<version>.{info,mod,zip}), so nothing leaves the machine.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from testbed.harness import ROOT

pytestmark = pytest.mark.integration

MODULE = "example.com/lib"
VERSION = "v1.0.0"
FILES = {
    "go.mod": f"module {MODULE}\n\ngo 1.21\n",
    "lib.go": 'package lib\n\nfunc Name() string { return "lib" }\n',
}


def h1(files: dict[str, str]) -> str:
    """Go's dirhash.Hash1: the sha256 of the sorted "<sha256>  <name>" lines."""
    summary = "".join(
        f"{hashlib.sha256(body.encode()).hexdigest()}  {name}\n"
        for name, body in sorted(files.items())
    )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def module_proxy(root: Path) -> Path:
    at_v = root / MODULE / "@v"
    at_v.mkdir(parents=True)
    (at_v / "list").write_text(f"{VERSION}\n")
    (at_v / f"{VERSION}.info").write_text(f'{{"Version":"{VERSION}"}}\n')
    (at_v / f"{VERSION}.mod").write_text(FILES["go.mod"])
    with zipfile.ZipFile(at_v / f"{VERSION}.zip", "w") as archive:
        for name, body in FILES.items():
            archive.writestr(f"{MODULE}@{VERSION}/{name}", body)
    return root


def sums() -> dict[str, str]:
    prefixed = {f"{MODULE}@{VERSION}/{name}": body for name, body in FILES.items()}
    return {
        "zip": f"{MODULE} {VERSION} {h1(prefixed)}",
        "mod": f"{MODULE} {VERSION}/go.mod {h1({'go.mod': FILES['go.mod']})}",
    }


def consumer(directory: Path, go_sum: list[str]) -> Path:
    directory.mkdir()
    (directory / "go.mod").write_text(
        f"module example.com/app\n\ngo 1.21\n\nrequire {MODULE} {VERSION}\n"
    )
    (directory / "main.go").write_text(
        f'package main\n\nimport "{MODULE}"\n\nfunc main() {{ println(lib.Name()) }}\n'
    )
    (directory / "go.sum").write_text("".join(line + "\n" for line in go_sum))
    return directory


def go_build(tmp_path: Path, app: Path, **caller_env: str) -> subprocess.CompletedProcess[str]:
    """`go build -mod=readonly` (what every wrapper build uses) under scripts/toolchain/go-env."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("the integration tier needs Go 1.26+ on PATH", pytrace=False)
    env = {
        **os.environ,
        "GOPROXY": module_proxy(tmp_path / "proxy").as_uri(),
        "GOMODCACHE": str(tmp_path / "modcache"),
        **caller_env,
    }
    script = f'source "{ROOT}/scripts/toolchain/go-env" && go build -mod=readonly -o app .'
    return subprocess.run(
        ["bash", "-c", script], cwd=app, env=env, capture_output=True, text=True, check=False
    )


def test_a_wrapper_builds_when_its_go_sum_matches_the_module(tmp_path: Path) -> None:
    app = consumer(tmp_path / "app", [sums()["zip"], sums()["mod"]])

    built = go_build(tmp_path, app)

    assert built.returncode == 0, built.stderr
    assert (app / "app").is_file()


def test_a_wrapper_build_fails_when_a_module_sum_is_wrong(tmp_path: Path) -> None:
    wrong = sums()["zip"].rsplit(" ", 1)[0] + " " + h1({"other": "content"})
    app = consumer(tmp_path / "app", [wrong, sums()["mod"]])

    built = go_build(tmp_path, app)

    assert built.returncode != 0
    assert "checksum mismatch" in built.stderr
    assert not (app / "app").exists()


def test_a_wrapper_build_fails_when_a_module_sum_is_missing(tmp_path: Path) -> None:
    app = consumer(tmp_path / "app", [sums()["mod"]])

    built = go_build(tmp_path, app)

    assert built.returncode != 0
    assert "missing go.sum entry" in built.stderr
    assert not (app / "app").exists()


def test_a_callers_gosumdb_off_does_not_turn_the_checks_off(tmp_path: Path) -> None:
    """A module no go.sum lists is looked up in sum.golang.org: here that lookup cannot succeed
    (the on-disk proxy serves no checksum database), so the download is refused, not trusted."""
    app = consumer(tmp_path / "app", [])
    env = {"GOSUMDB": "off", "GONOSUMDB": MODULE, "GOPRIVATE": MODULE, "GOFLAGS": "-mod=mod"}
    script = f'source "{ROOT}/scripts/toolchain/go-env" && go mod download -json {MODULE}@{VERSION}'
    proxy = module_proxy(tmp_path / "proxy")

    downloaded = subprocess.run(
        ["bash", "-c", script],
        cwd=app,
        env={**os.environ, "GOPROXY": proxy.as_uri(), "GOMODCACHE": str(tmp_path / "mc"), **env},
        capture_output=True,
        text=True,
        check=False,
    )

    assert downloaded.returncode != 0
    assert "sum.golang.org" in downloaded.stdout + downloaded.stderr
