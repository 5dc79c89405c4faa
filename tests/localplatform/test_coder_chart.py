"""Coder's chart copied from the Coder module as a release packages it: versions set to the
Coder version (the chart refuses to render at 0.1.0, and names its image by appVersion),
libcoder under charts/, writable, replaced whole; a changed dependency list is refused.
The launcher makes it where the stack's coder.chartPath names it, from the module of the Coder
it runs, and refuses a coder.chartVersion that is not that Coder's."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from coder_platform.contracts import PROJECT
from localplatform.coder_chart import prepare_chart
from localplatform.daemon import PartError
from localplatform.openbao import OidcClient
from localplatform.platform import LocalPlatform
from localplatform.stack import read_stack
from testbed.harness import load_stack_file

LIBCODER = {"name": "libcoder", "version": "0.1.0", "repository": "file://../libcoder"}


def _module(root: Path, dependencies: tuple[dict[str, str], ...] = (LIBCODER,)) -> Path:
    """The module's helm/ layout, read-only as Go's module cache leaves it."""
    coder, library = root / "helm" / "coder", root / "helm" / "libcoder"
    (coder / "templates").mkdir(parents=True)
    (coder / "tests" / "testdata").mkdir(parents=True)
    (library / "templates").mkdir(parents=True)
    chart = {"apiVersion": "v2", "name": "coder", "version": "0.1.0", "appVersion": "0.1.0"}
    (coder / "Chart.yaml").write_text(yaml.safe_dump({**chart, "dependencies": dependencies}))
    (coder / "templates" / "coder.yaml").write_text('{{ include "libcoder.deployment" . }}\n')
    (coder / "tests" / "testdata" / "default.golden").write_text("x\n")
    (library / "Chart.yaml").write_text("apiVersion: v2\nname: libcoder\ntype: library\n")
    (library / "templates" / "_coder.yaml").write_text('{{- define "x" -}}{{- end -}}\n')
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    return root


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return _module(tmp_path / "coder@v2.36.1")


def test_the_copy_carries_the_coder_version_and_its_library_under_charts(
    module: Path, tmp_path: Path
) -> None:
    chart = prepare_chart(module, "2.36.1", tmp_path / "out" / "coder")
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert (meta["version"], meta["appVersion"]) == ("2.36.1", "2.36.1")
    assert meta["dependencies"] == [LIBCODER]
    assert (chart / "charts" / "libcoder" / "templates" / "_coder.yaml").is_file()
    assert (chart / "templates" / "coder.yaml").is_file()
    assert not (chart / "tests").exists()


def test_the_copy_is_writable_and_replaced_whole_when_prepared_again(
    module: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out" / "coder"
    prepare_chart(module, "2.36.0", destination)
    (destination / "stale.yaml").write_text("left over\n")
    chart = prepare_chart(module, "2.36.1", destination)
    assert not (chart / "stale.yaml").exists()
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["version"] == "2.36.1"
    for path in [chart, *chart.rglob("*")]:
        assert path.stat().st_mode & stat.S_IWUSR, path


def test_a_chart_with_other_dependencies_is_refused_naming_them(tmp_path: Path) -> None:
    module = _module(tmp_path / "module", (LIBCODER, {"name": "postgresql"}))
    with pytest.raises(PartError, match=r"depends on \['libcoder', 'postgresql'\]"):
        prepare_chart(module, "2.36.1", tmp_path / "out")


def _stack(project: Path, **coder: object) -> Path:
    """A local stack deploying Coder from ``coder`` (the dev stack's Coder, made local)."""
    raw = load_stack_file("dev")
    raw["environment"] = "local"
    raw["coder"] |= coder
    stack_file = project / "stacks" / "Pulumi.node.yaml"
    stack_file.parent.mkdir(parents=True)
    config = {f"{PROJECT}:{key}": value for key, value in raw.items()}
    stack_file.write_text(yaml.safe_dump({"config": config}))
    return stack_file


@pytest.fixture
def platform(module: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalPlatform:
    monkeypatch.setattr("localplatform.coder_chart.coder_module_dir", lambda _version: module)
    platform = LocalPlatform(tmp_path / "platform", tmp_path / "kube", 17999, 18999)
    # The platform's Coder build (scripts/install-platform's answer), at 2.36.1.
    platform.__dict__["binaries"] = SimpleNamespace(coder_version="2.36.1")
    return platform


def test_the_launcher_prepares_the_chart_where_the_stack_names_it(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    stack_file = _stack(tmp_path / "project", chartPath="build/coder-chart", chartVersion="2.36.1")
    chart = platform.prepare_coder_chart(stack_file, read_stack(stack_file))
    assert chart == tmp_path / "project" / "build" / "coder-chart"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"] == "2.36.1"


def test_a_chart_version_other_than_the_platforms_coder_is_refused_naming_the_key(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    stack_file = _stack(tmp_path / "project", chartPath="build/coder-chart", chartVersion="2.36.6")
    with pytest.raises(
        PartError, match=r"coder.chartVersion is 2.36.6.*set coder.chartVersion: 2.36.1"
    ):
        platform.prepare_coder_chart(stack_file, read_stack(stack_file))
    assert not (tmp_path / "project" / "build").exists()


def test_no_chart_is_prepared_when_the_stack_installs_it_from_its_repository(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    stack_file = _stack(tmp_path / "project")
    assert platform.prepare_coder_chart(stack_file, read_stack(stack_file)) is None


def test_the_launcher_names_the_oidc_values_a_node_stack_must_set_when_they_are_not_this_platforms(
    platform: LocalPlatform,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    issuer = "http://10.1.2.3:18200/v1/identity/oidc/provider/default"
    client = OidcClient(issuer, "bao-made-id", "s3cret-value")
    stack_file = _stack(tmp_path / "project", chartPath="build/coder-chart", chartVersion="2.36.1")
    platform._check_coder_oidc(stack_file, read_stack(stack_file), client)
    told = capsys.readouterr().err
    assert f"coder.oidc.issuerUrl: {issuer}" in told
    assert "coder.oidc.clientId: bao-made-id" in told
    assert "s3cret-value" not in told


def test_the_launcher_says_nothing_when_the_stack_trusts_this_platforms_openbao(
    platform: LocalPlatform,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    oidc = load_stack_file("dev")["coder"]["oidc"]
    client = OidcClient(oidc["issuerUrl"], oidc["clientId"], "s3cret-value")
    stack_file = _stack(tmp_path / "project", chartPath="build/coder-chart", chartVersion="2.36.1")
    platform._check_coder_oidc(stack_file, read_stack(stack_file), client)
    assert capsys.readouterr().err == ""


def test_the_launcher_says_nothing_when_the_stack_leaves_the_oidc_values_to_openbao(
    platform: LocalPlatform,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = OidcClient("http://10.1.2.3:18200/x", "bao-made-id", "s3cret-value")
    stack_file = _stack(
        tmp_path / "project",
        chartPath="build/coder-chart",
        chartVersion="2.36.1",
        oidc={"ssoOnly": False},
    )
    platform._check_coder_oidc(stack_file, read_stack(stack_file), client)
    assert capsys.readouterr().err == ""
