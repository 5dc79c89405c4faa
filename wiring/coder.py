"""Coder and its secrets: Vault, the Helm release (or an existing Coder), the seeded state."""

from __future__ import annotations

from pathlib import PurePosixPath

import pulumi

from coder_platform.config import CoderConfig, PlatformConfig
from coder_platform.contracts import RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT
from coder_platform.names import app_secret_name
from coder_platform.vault_inputs import BootstrapInputs, required_paths
from components.coder import CoderDeployment, CoderDeploymentArgs, CoderIngress
from components.database import CnpgPostgres
from components.seeding import CoderSeed, CoderSeedArgs, TokenPublication
from components.vault import VaultSecrets, VaultSecretsArgs
from wiring.load import Loaded


def build_vault_secrets(config: PlatformConfig) -> VaultSecrets | None:
    vault = config.vault
    if not vault.enabled:
        return None
    return VaultSecrets(
        "vault",
        VaultSecretsArgs(
            address=str(vault.address).rstrip("/"),
            kv_mount=vault.kv_mount,
            create_mount=vault.create_mount,
            # Every input the program reads: the bootstrap secrets, the license, passwords.
            read_paths=[
                path
                for path, _keys in required_paths(vault, config.seeding, config.database.backup)
            ],
            write_paths=[vault.cli_token_path],
            kubernetes_auth_path=vault.kubernetes_auth_path,
            role_name=vault.reconciler_role,
            service_account_name=RECONCILER_SERVICE_ACCOUNT,
            service_account_namespace=(
                config.reconciler.namespace if config.reconciler else RECONCILER_NAMESPACE
            ),
            provider=vault.provider,
        ),
    )


def oidc_client(coder: CoderConfig, inputs: BootstrapInputs) -> tuple[str, str]:
    """The issuer URL and client id Coder is given: the config's where set, else what Vault
    holds beside the client secret (a loopback stack's, read by ``read_from_vault``)."""
    assert coder.oidc is not None  # enforced by config validation when coder.deploy is true
    issuer_url = str(coder.oidc.issuer_url) if coder.oidc.issuer_url else inputs.oidc_issuer_url
    client_id = coder.oidc.client_id or inputs.oidc_client_id
    # Either set in config or required (and read) from Vault: vault_inputs.oidc_keys.
    assert issuer_url and client_id
    return issuer_url, client_id


def build_coder(
    config: PlatformConfig, inputs: BootstrapInputs | None, database: CnpgPostgres
) -> CoderDeployment | None:
    coder = config.coder
    if coder is None or not config.deploys_coder or inputs is None:
        return None
    # enforced by config validation when coder.deploy is true:
    assert coder.chart_version and coder.access_url and coder.oidc
    # build_database publishes the server CA when the stack deploys Coder:
    assert database.server_ca is not None
    issuer_url, client_id = oidc_client(coder, inputs)
    return CoderDeployment(
        "coder",
        CoderDeploymentArgs(
            namespace=config.namespaces.coder,
            chart_version=coder.chart_version,
            chart_repository=str(coder.chart_repository),
            access_url=str(coder.access_url).rstrip("/"),
            wildcard_access_url=coder.wildcard_access_url,
            replicas=coder.replicas,
            resources=coder.resources.model_dump(),
            service_type=coder.service_type,
            ingress=CoderIngress(**coder.ingress.model_dump()),
            oidc_issuer_url=issuer_url,
            oidc_client_id=client_id,
            oidc_email_domain=coder.oidc.email_domain,
            oidc_allow_signups=coder.oidc.allow_signups,
            sso_only=coder.oidc.sso_only,
            max_token_lifetime=coder.max_token_lifetime,
            max_admin_token_lifetime=coder.max_admin_token_lifetime,
            database_secret_name=app_secret_name(config.database.cluster_name),
            database_uri=database.app_uri,
            database_ca=database.server_ca,
            oidc_client_secret=pulumi.Output.secret(inputs.oidc_client_secret.get_secret_value()),
            # Relative to the project directory the engine and its providers run in: the host's
            # runs and the reconciler pod's (/app) then name the same chart. pulumi-kubernetes
            # keeps a local chart's path as its name, so an absolute path differing between
            # them was an update of the release on every other run.
            chart_path=(
                f"./{PurePosixPath(coder.chart_path)}" if coder.chart_path is not None else None
            ),
            http_node_port=coder.http_node_port,
        ),
        # Coder must not start before its database exists.
        opts=pulumi.ResourceOptions(depends_on=[database.cluster]),
    )


def build_seed(
    loaded: Loaded, coder: CoderDeployment | None, vault_secrets: VaultSecrets | None
) -> CoderSeed | None:
    config, inputs, seeding = loaded.config, loaded.inputs, loaded.config.seeding
    if seeding is None or not seeding.enabled or config.coder is None:
        return None
    if coder is None and config.coder.deploy:
        return None
    assert inputs is not None and config.coder is not None  # enforced by config validation
    retain_templates = seeding.retain_templates_on_delete
    return CoderSeed(
        "coder-seed",
        CoderSeedArgs(
            coder_url=config.coder.seed_url,
            admin_email=inputs.admin_email,
            admin_username=inputs.admin_username,
            admin_full_name=seeding.automation_full_name,
            admin_password=pulumi.Output.secret(inputs.admin_password.get_secret_value()),
            token_name=seeding.token_name,
            token_lifetime_hours=seeding.token_lifetime_hours,
            token_rotation_window_hours=seeding.token_rotation_window_hours,
            publication=(
                TokenPublication(
                    vault_secrets.provider,
                    vault_secrets.mount_path,
                    config.vault.cli_token_path,
                    address=str(config.vault.address).rstrip("/"),
                )
                if vault_secrets is not None
                else None
            ),
            license=(
                pulumi.Output.secret(inputs.license.get_secret_value()) if inputs.license else None
            ),
            users=seeding.users,
            user_passwords={
                username: pulumi.Output.secret(password.get_secret_value())
                for username, password in inputs.user_passwords.items()
            },
            removed_users=seeding.removed_users,
            groups=seeding.groups,
            everyone_quota_allowance=seeding.everyone_quota_allowance,
            templates=loaded.templates,
            source_root=str(loaded.project_root),
            retain_templates_on_delete=(
                config.environment == "prod" if retain_templates is None else retain_templates
            ),
        ),
        # A deployed Coder must answer before /users/first can; an existing one already does.
        opts=pulumi.ResourceOptions(depends_on=[coder.release] if coder else []),
    )
