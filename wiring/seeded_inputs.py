"""Checks that need both the config and the secrets read for it, done before anything is
registered (C1): they stop a run before any Coder write, naming the config key to change.
"""

from __future__ import annotations

from coder_platform.coder_api.people import license_grants
from coder_platform.config import ConfigError, ConfigIssue, PlatformConfig
from coder_platform.contracts import GROUPS_FEATURE, SERVICE_ACCOUNTS_FEATURE
from coder_platform.vault_inputs import BootstrapInputs


def check_seeded_inputs(config: PlatformConfig, inputs: BootstrapInputs) -> None:
    """Raise ``ConfigError`` with every problem; never with a secret's value."""
    seeding = config.seeding
    if seeding is None or not seeding.enabled:
        return
    issues: list[ConfigIssue] = []
    for index, user in enumerate(seeding.users):
        if user.username.lower() == inputs.admin_username.lower():
            issues.append(
                ConfigIssue(
                    f"seeding.users[{index}].username",
                    "is the automation identity (Coder's first user, from the bootstrap-admin "
                    "secret): it is seeded as the first user, never as a user; remove this entry",
                )
            )
    license_ = inputs.license.get_secret_value() if inputs.license else None
    # Groups, template ACLs and the Everyone group's quota all need template_rbac in coderd.
    needing_rbac = [
        *(["seeding.groups"] if seeding.groups else []),
        *(
            f"seeding.templates.{key}.access"
            for key, settings in sorted(seeding.templates.items())
            if settings.access is not None
        ),
        *(
            ["seeding.everyoneQuotaAllowance"]
            if seeding.everyone_quota_allowance is not None
            else []
        ),
    ]
    if needing_rbac and license_ is not None and not license_grants(license_, GROUPS_FEATURE):
        named = ", ".join(needing_rbac)
        issues.append(
            ConfigIssue(
                "seeding.license.vaultPath",
                f"holds a license that does not grant {GROUPS_FEATURE}, which {named} "
                f"need(s): store a Premium license there, or remove {named}",
            )
        )
    service_accounts = [user for user in seeding.users if user.login_type == "none"]
    if (
        service_accounts
        and license_ is not None
        and not license_grants(license_, SERVICE_ACCOUNTS_FEATURE)
    ):
        issues.append(
            ConfigIssue(
                "seeding.license.vaultPath",
                f"holds a license that does not grant {SERVICE_ACCOUNTS_FEATURE}, which "
                "seeding.users with loginType none (service accounts) need: store a Premium "
                "license there, or give those users another login type",
            )
        )
    if issues:
        raise ConfigError(issues)
