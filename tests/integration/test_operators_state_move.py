"""The runbook's move of the operators from an app stack to their own, run with the pinned
Pulumi CLI on a file backend (docs/runbook.md, "The operators' own stack").

The app stack's state is what dev's held before the operators scope (the operators' component,
its namespace and both releases under it, the database component depending on it), imported
with ``pulumi stack import``; then ``pulumi state move`` as the runbook writes it. No cluster:
the move is a state edit. What the operators stack registers under those names is the unit
tier's (``tests/test_stacks.py``); that its first update then changes nothing cannot be shown
here, because the charts' repository is not reachable from this machine.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from automation.scope import operator_urns
from coder_platform.contracts import PROJECT, ComponentType

pytestmark = pytest.mark.integration

PROVIDER_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
# (type, name, id) of the operators' children, as the program names them.
CHILDREN = (
    (NAMESPACE, "operators-namespace", "cnpg-system"),
    (RELEASE, "operators-cnpg", "cnpg-system/cnpg"),
    (RELEASE, "operators-barman-cloud", "cnpg-system/barman-cloud"),
)


def _urn(stack: str, chain: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{chain}::{name}"


def _operators(stack: str) -> str:
    return _urn(stack, ComponentType.OPERATORS, "operators")


def _child(stack: str, type_: str, name: str) -> str:
    return _urn(stack, f"{ComponentType.OPERATORS}${type_}", name)


def _app_stack_resources(stack: str) -> list[dict[str, Any]]:
    root = _urn(stack, "pulumi:pulumi:Stack", f"{PROJECT}-{stack}")
    provider = _urn(stack, "pulumi:providers:kubernetes", "default_4_24_0")
    provider_ref = f"{provider}::{PROVIDER_ID}"
    operators = _operators(stack)
    children = [
        {
            "urn": _child(stack, type_, name),
            "custom": True,
            "id": id_,
            "type": type_,
            "parent": operators,
            "provider": provider_ref,
            "inputs": {"metadata": {"name": id_}},
            "outputs": {"metadata": {"name": id_}},
        }
        for type_, name, id_ in CHILDREN
    ]
    return [
        {"urn": root, "custom": False, "type": "pulumi:pulumi:Stack"},
        {"urn": provider, "custom": True, "id": PROVIDER_ID, "type": "pulumi:providers:kubernetes",
         "inputs": {"version": "4.24.0"}, "outputs": {"version": "4.24.0"}},
        {"urn": operators, "custom": False, "type": str(ComponentType.OPERATORS), "parent": root},
        *children,
        {"urn": _urn(stack, ComponentType.DATABASE, "coder-db"), "custom": False,
         "type": str(ComponentType.DATABASE), "parent": root, "dependencies": [operators]},
    ]  # fmt: skip


class Cli:
    def __init__(self, work_dir: Path, env: dict[str, str]) -> None:
        self.work_dir, self.env = work_dir, env

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.work_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def export(self, stack: str) -> dict[str, Any]:
        out = self("stack", "export", "--stack", stack)
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout))


@pytest.fixture
def cli(toolchain_env: dict[str, str], tmp_path: Path) -> Cli:
    (tmp_path / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
    backend = tmp_path / "state"
    backend.mkdir()
    env = {
        **toolchain_env,
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "test-only-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    run = Cli(tmp_path, env)
    for stack in ("dev", "dev-operators"):
        created = run("stack", "init", stack, "--secrets-provider", "passphrase")
        assert created.returncode == 0, created.stderr
    state = run.export("dev")
    state["deployment"]["resources"] = _app_stack_resources("dev")
    (tmp_path / "dev.json").write_text(json.dumps(state))
    imported = run("stack", "import", "--stack", "dev", "--file", str(tmp_path / "dev.json"))
    assert imported.returncode == 0, imported.stderr
    return run


def _by_urn(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in state["deployment"].get("resources") or []}


def test_the_runbooks_state_move_hands_the_operators_to_their_stack_with_ids_and_provider(
    cli: Cli,
) -> None:
    assert len(operator_urns(cli.export("dev"))) == 1 + len(CHILDREN)  # the guard's refusal

    moved = cli("state", "move", "--source", "dev", "--dest", "dev-operators", "--yes",
                _operators("dev"))  # fmt: skip

    assert moved.returncode == 0, moved.stderr
    app, own = _by_urn(cli.export("dev")), _by_urn(cli.export("dev-operators"))
    assert operator_urns({"deployment": {"resources": list(app.values())}}) == []
    assert _urn("dev", ComponentType.DATABASE, "coder-db") in app
    assert app[_urn("dev", ComponentType.DATABASE, "coder-db")].get("dependencies") in (None, [])
    assert own[_operators("dev-operators")]["parent"].endswith(f"{PROJECT}-dev-operators")
    provider = _urn("dev-operators", "pulumi:providers:kubernetes", "default_4_24_0")
    for type_, name, id_ in CHILDREN:
        child = own[_child("dev-operators", type_, name)]
        assert child["id"] == id_
        assert child["parent"] == _operators("dev-operators")
        assert child["provider"] == f"{provider}::{PROVIDER_ID}"
    assert provider in own
