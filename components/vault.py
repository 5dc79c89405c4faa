"""VaultSecrets: the KV v2 mount, the reconciler's policy, and its Kubernetes auth role.

The in-cluster reconciler reads the bootstrap inputs and writes the published CLI session
token, nothing else (least privilege, contract C5). With ``provider="api"`` (engines without the
pulumi-vault plugin, which the module proxy refuses) only the policy is written, through
Vault's HTTP API; the mount must exist and no Kubernetes auth role is managed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from coder_platform.contracts import ComponentType
from components.providers.vault_api import VaultPolicy


@dataclass(frozen=True)
class VaultSecretsArgs:
    address: str
    kv_mount: str
    create_mount: bool
    read_paths: list[str]
    write_paths: list[str]
    kubernetes_auth_path: str
    role_name: str
    service_account_name: str
    service_account_namespace: str
    provider: str = "pulumi-vault"


def reconciler_policy(
    mount: str,
    read_paths: list[str],
    write_paths: list[str],
    *,
    role_name: str,
    kubernetes_auth_path: str,
    owns_mount: bool,
) -> str:
    """HCL granting read on the inputs and write on the published token (KV v2 data paths).

    The scheduled run refreshes the whole stack, so it may also read (never change) the Vault
    objects this component manages: its own policy and role, and the mount if the stack owns it.
    """
    own_objects = [f"sys/policies/acl/{role_name}", f"auth/{kubernetes_auth_path}/role/{role_name}"]
    if owns_mount:
        own_objects.append(f"sys/mounts/{mount}")
    rules = [f'path "{mount}/data/{path}" {{\n  capabilities = ["read"]\n}}' for path in read_paths]
    rules += [f'path "{path}" {{\n  capabilities = ["read"]\n}}' for path in own_objects]
    rules += [
        f'path "{mount}/data/{path}" {{\n  capabilities = ["create", "update", "read"]\n}}\n'
        f'path "{mount}/metadata/{path}" {{\n  capabilities = ["read"]\n}}'
        for path in write_paths
    ]
    return "\n".join(rules) + "\n"


class VaultSecrets(pulumi.ComponentResource):
    provider: vault.Provider | None  # None with provider="api"
    mount: vault.Mount | None
    policy: vault.Policy | VaultPolicy
    auth_role: vault.kubernetes.AuthBackendRole | None
    mount_path: pulumi.Output[str]

    def __init__(
        self, name: str, args: VaultSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ComponentType.VAULT, name, None, opts)
        if args.provider == "api":
            self._through_api(name, args)
            return
        # The token comes from VAULT_TOKEN in the environment, never from state or config.
        self.provider = vault.Provider(
            f"{name}-provider",
            address=args.address,
            skip_child_token=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_vault = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.mount = (
            vault.Mount(
                f"{name}-kv",
                path=args.kv_mount,
                type="kv",
                options={"version": "2"},
                description="coder-platform secrets pipeline",
                opts=pulumi.ResourceOptions.merge(in_vault, pulumi.ResourceOptions(protect=True)),
            )
            if args.create_mount
            else None
        )
        self.mount_path = self.mount.path if self.mount else pulumi.Output.from_input(args.kv_mount)
        self.policy = vault.Policy(
            f"{name}-reconciler-policy",
            name=args.role_name,
            policy=reconciler_policy(
                args.kv_mount,
                args.read_paths,
                args.write_paths,
                role_name=args.role_name,
                kubernetes_auth_path=args.kubernetes_auth_path,
                owns_mount=args.create_mount,
            ),
            opts=in_vault,
        )
        self.auth_role = vault.kubernetes.AuthBackendRole(
            f"{name}-reconciler-role",
            backend=args.kubernetes_auth_path,
            role_name=args.role_name,
            bound_service_account_names=[args.service_account_name],
            bound_service_account_namespaces=[args.service_account_namespace],
            token_policies=[self.policy.name],
            token_ttl=3600,
            opts=in_vault,
        )
        self.register_outputs({"mount_path": self.mount_path})

    def _through_api(self, name: str, args: VaultSecretsArgs) -> None:
        self.provider, self.mount, self.auth_role = None, None, None
        self.mount_path = pulumi.Output.from_input(args.kv_mount)
        self.policy = VaultPolicy(
            f"{name}-reconciler-policy",
            args.address,
            args.role_name,
            reconciler_policy(
                args.kv_mount,
                args.read_paths,
                args.write_paths,
                role_name=args.role_name,
                kubernetes_auth_path=args.kubernetes_auth_path,
                owns_mount=False,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"mount_path": self.mount_path})
