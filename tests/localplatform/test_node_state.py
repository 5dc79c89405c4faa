"""The node stack's state in the node's Azurite (``localplatform.node_state``): which stacks keep
it there, what the host runner and the reconciler's pod are given to reach it, and the Secret
written only once the stack has created the reconciler's namespace. (The real Azurite, CLI and
pod take it in the node tier: tests/node/test_node_stack.py.)"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import httpx
import pytest
import yaml

from coder_platform.config import load_config
from coder_platform.contracts import LOCAL_ONLY_PASSPHRASE
from localplatform.__main__ import _exports
from localplatform.daemon import PartError
from localplatform.node_state import NodeState
from localplatform.platform import Endpoints
from testbed.harness import load_stack_file

NODE_IP = "10.1.2.3"
KEY = "c2VjcmV0LWtleQ=="
STATE = NodeState("azblob://pulumi-state", "pulumi-state", "coder-reconciler", "node-state")


def test_the_node_stack_keeps_its_state_in_the_container_its_reconciler_names() -> None:
    config = load_config(copy.deepcopy(load_stack_file("node")))

    assert NodeState.of(config) == NodeState(
        "azblob://pulumi-state", "pulumi-state", "coder-reconciler", "coder-platform-node-state"
    )


def test_a_stack_keeps_the_runners_default_state_when_its_reconciler_reads_no_secret() -> None:
    for stack in ("local", "dev"):
        assert NodeState.of(load_config(copy.deepcopy(load_stack_file(stack)))) is None


def test_the_pod_reaches_azurite_by_the_nodes_address_in_path_style_with_the_shared_key() -> None:
    env = STATE.environment(NODE_IP, KEY)

    assert env == {
        "AZURE_STORAGE_ACCOUNT": "coderplatform",
        "AZURE_STORAGE_KEY": KEY,
        "AZURE_STORAGE_DOMAIN": f"{NODE_IP}:10000",
        "AZURE_STORAGE_PROTOCOL": "http",
        "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true",
        "PULUMI_CONFIG_PASSPHRASE": LOCAL_ONLY_PASSPHRASE,
    }
    assert STATE.host_environment(NODE_IP, KEY) == {
        "PULUMI_BACKEND_URL": "azblob://pulumi-state",
        **env,
    }


def _api(namespace_status: int) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/namespaces/coder-reconciler":
            return httpx.Response(namespace_status, json={})
        if request.url.path == "/api/v1":
            kinds = [{"kind": "Secret", "name": "secrets", "namespaced": True}]
            return httpx.Response(200, json={"resources": kinds})
        return httpx.Response(200, json={})

    return httpx.Client(base_url="https://api", transport=httpx.MockTransport(handle)), seen


def test_the_secret_waits_for_the_namespace_the_first_reconcile_creates() -> None:
    client, seen = _api(404)

    assert not STATE.write_secret(client, NODE_IP, KEY)

    assert [r.method for r in seen] == ["GET"]


def test_the_secret_holds_the_pods_environment_when_the_namespace_exists() -> None:
    client, seen = _api(200)

    assert STATE.write_secret(client, NODE_IP, KEY)

    [patch] = [r for r in seen if r.method == "PATCH"]
    assert patch.url.path == "/api/v1/namespaces/coder-reconciler/secrets/node-state"
    secret = yaml.safe_load(patch.content)
    assert secret["stringData"] == STATE.environment(NODE_IP, KEY)


def test_up_exports_the_state_backend_and_reads_the_key_from_its_file_never_printing_it() -> None:
    endpoints = Endpoints(
        coder_url="http://127.0.0.1:17080",
        vault_address="http://127.0.0.1:18200",
        vault_token_file="/p/openbao/root-token",
        kubeconfig="/k/kubeconfig",
        postgres_port=15432,
        oidc_issuer=None,
        state_backend={"PULUMI_BACKEND_URL": "azblob://pulumi-state", "AZURE_STORAGE_ACCOUNT": "a"},
        state_key_file="/p/node/azurite-account-key",
    )

    lines = _exports(endpoints).splitlines()

    assert "export PULUMI_BACKEND_URL=azblob://pulumi-state" in lines
    assert "export AZURE_STORAGE_ACCOUNT=a" in lines
    assert 'export AZURE_STORAGE_KEY="$(cat /p/node/azurite-account-key)"' in lines


def test_up_exports_no_state_backend_when_the_stack_keeps_the_default() -> None:
    endpoints = Endpoints("http://c", "http://v", "/t", "/k", 1, None)

    assert "PULUMI_BACKEND_URL" not in _exports(endpoints)
    assert "AZURE_STORAGE" not in _exports(endpoints)


def _fake_pulumi(tmp_path: Path, stderr: str, code: int) -> dict[str, str]:
    """A `pulumi` on PATH that records its arguments and its project, then answers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args\n'
        f"cat Pulumi.yaml > {tmp_path}/project\n"
        f"echo '{stderr}' >&2\n"
        f"exit {code}\n"
    )
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_the_stack_is_created_once_in_a_scratch_project_of_the_same_name(tmp_path: Path) -> None:
    STATE.ensure_stack("node", _fake_pulumi(tmp_path, "", 0))

    assert (tmp_path / "args").read_text().split() == [
        *("stack", "init", "node", "--secrets-provider", "passphrase")
    ]
    assert "name: coder-platform" in (tmp_path / "project").read_text()


def test_a_stack_already_in_the_container_is_left_as_it_is(tmp_path: Path) -> None:
    STATE.ensure_stack("node", _fake_pulumi(tmp_path, "error: stack 'node' already exists", 255))


def test_a_refused_stack_init_fails_naming_the_stack_and_backend(tmp_path: Path) -> None:
    with pytest.raises(PartError, match="pulumi stack init node in azblob://pulumi-state"):
        STATE.ensure_stack("node", _fake_pulumi(tmp_path, "error: 403 AuthorizationFailure", 255))
