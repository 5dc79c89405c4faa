"""VaultSecrets: the reconciler may read the inputs and write the published token, no more."""

from __future__ import annotations

import copy

from components.vault import reconciler_policy
from testbed.harness import load_stack_file, run_program


def policy(owns_mount: bool = False) -> str:
    return reconciler_policy(
        "platform",
        ["coder/oidc"],
        ["coder/cli-token"],
        role_name="coder-reconciler",
        kubernetes_auth_path="kubernetes",
        owns_mount=owns_mount,
    )


def test_policy_lets_the_scheduled_refresh_read_only_its_own_vault_objects() -> None:
    hcl = policy()
    assert 'path "sys/policies/acl/coder-reconciler" {\n  capabilities = ["read"]\n}' in hcl
    assert 'path "auth/kubernetes/role/coder-reconciler" {\n  capabilities = ["read"]\n}' in hcl
    assert "sys/mounts" not in hcl
    assert 'path "sys/mounts/platform" {\n  capabilities = ["read"]\n}' in policy(owns_mount=True)


def test_policy_reads_inputs_and_writes_only_the_token() -> None:
    hcl = policy()
    assert 'path "platform/data/coder/oidc" {\n  capabilities = ["read"]\n}' in hcl
    assert (
        'path "platform/data/coder/cli-token" {\n  capabilities = ["create", "update", "read"]'
        in hcl
    )
    assert "delete" not in hcl and "sudo" not in hcl and "*" not in hcl


def test_stack_registers_policy_and_auth_role_bound_to_the_reconciler() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    policy = mocks.one("vault:index/policy:Policy").inputs
    role = mocks.one("vault:kubernetes/authBackendRole:AuthBackendRole").inputs
    assert role["backend"] == "kubernetes-aks-coder-dev"
    assert role["boundServiceAccountNames"] == ["coder-reconciler"]
    assert role["boundServiceAccountNamespaces"] == ["coder-reconciler"]
    assert role["tokenPolicies"] == [policy["name"]]
    assert 'path "platform/data/coder/coder-cli-session-token"' in policy["policy"]
    provider = mocks.one("pulumi:providers:vault").inputs
    assert provider["address"] == "https://vault.platform.dev.corp.internal:8200"
    assert "token" not in provider  # VAULT_TOKEN from the environment, never in state


def test_the_scheduled_run_may_read_the_license_and_password_paths_it_seeds_from() -> None:
    raw = copy.deepcopy(load_stack_file("prod"))
    raw["seeding"]["users"].append(
        {
            "username": "break-glass",
            "email": "break-glass@corp.internal",
            "loginType": "password",
            "passwordPath": "coder/users/break-glass",
        }
    )
    hcl = run_program(raw, stack="prod").one("vault:index/policy:Policy").inputs["policy"]
    for path in ("coder/license", "coder/users/break-glass", "coder/oidc"):
        assert f'path "platform/data/{path}" {{\n  capabilities = ["read"]\n}}' in hcl, path


def test_existing_mount_is_used_and_a_new_one_is_created_when_asked() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    assert run_program(raw, stack="dev").of_type("vault:index/mount:Mount") == []
    raw["vault"]["createMount"] = True
    mount = run_program(raw, stack="dev").one("vault:index/mount:Mount").inputs
    assert mount["path"] == "platform"
    assert mount["type"] == "kv"
    assert mount["options"] == {"version": "2"}


def test_plain_kubernetes_stack_runs_without_vault_from_local_secrets() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["environment"] = "local"
    raw["vault"] = {"enabled": False}
    raw["localSecrets"] = {
        "oidcClientSecret": "local-oidc-secret",
        "bootstrapAdminEmail": "automation@local.test",
        "bootstrapAdminUsername": "coder-automation",
        "bootstrapAdminPassword": "local-admin-password",
    }
    mocks = run_program(raw, stack="local")
    assert not [
        r for r in mocks.resources if r.type.startswith(("vault:", "pulumi:providers:vault"))
    ]
    assert [
        r for r in mocks.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "coder"
    ]
