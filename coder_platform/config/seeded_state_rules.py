"""Cross-key rules for the seeded Coder state: each issue names the one key to change.

Kept apart from ``rules`` so each rules module stays about one part of the stack.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from coder_platform.config.issues import ConfigIssue
from coder_platform.config.schema import PlatformConfig
from coder_platform.config.seeded_state import TemplateSettings, UserConfig


def seeded_state_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    seeding = config.seeding
    if seeding is None or not seeding.enabled:
        return
    for name, count in Counter(user.username.lower() for user in seeding.users).items():
        if count > 1:
            yield ConfigIssue("seeding.users", f"username {name!r} is declared {count} times")
    for name, count in Counter(group.name for group in seeding.groups).items():
        if count > 1:
            yield ConfigIssue("seeding.groups", f"group {name!r} is declared {count} times")
    for index, user in enumerate(seeding.users):
        yield from _user_issues(config, index, user)
    declared = {user.username.lower() for user in seeding.users}
    for index, group in enumerate(seeding.groups):
        unknown = sorted({m for m in group.members if m.lower() not in declared})
        if unknown:
            yield ConfigIssue(
                f"seeding.groups[{index}].members",
                f"names users this stack does not declare in seeding.users: {', '.join(unknown)}",
            )
    yield from _access_issues(seeding.templates, declared, {g.name for g in seeding.groups})
    accessed = sorted(key for key, t in seeding.templates.items() if t.access is not None)
    if accessed and seeding.license is None:
        yield ConfigIssue(
            f"seeding.templates.{accessed[0]}.access",
            "needs seeding.license.vaultPath: template access is a Premium feature "
            "(template_rbac) and a database reset drops every license",
        )
    if seeding.everyone_quota_allowance is not None and seeding.license is None:
        yield ConfigIssue(
            "seeding.everyoneQuotaAllowance",
            "needs seeding.license.vaultPath: the Everyone group is a group (Premium: "
            "template_rbac) and a database reset drops every license",
        )
    if seeding.groups and seeding.license is None:
        yield ConfigIssue(
            "seeding.groups",
            "needs seeding.license.vaultPath: groups are a Premium feature (template_rbac) and a "
            "database reset drops every license, so the stack must re-add the license first",
        )
    if seeding.license is not None and not config.vault.enabled:
        yield ConfigIssue(
            "seeding.license.vaultPath", "needs vault.enabled: the license comes from Vault (C5)"
        )


def _user_issues(config: PlatformConfig, index: int, user: UserConfig) -> Iterator[ConfigIssue]:
    key = f"seeding.users[{index}]"
    if user.login_type == "password" and user.password_path is None:
        yield ConfigIssue(
            f"{key}.passwordPath",
            "is required for loginType password: the KV path whose key password holds it",
        )
    if user.login_type != "password" and user.password_path is not None:
        yield ConfigIssue(
            f"{key}.passwordPath", "is only for loginType password (oidc and none users)"
        )
    if user.password_path is not None and not config.vault.enabled:
        yield ConfigIssue(
            f"{key}.passwordPath", "needs vault.enabled: passwords come from Vault (C5)"
        )
    if user.login_type == "none" and user.email is not None:
        yield ConfigIssue(
            f"{key}.email",
            "a service account (loginType none) has no email: Coder refuses one "
            "(Email cannot be set for service accounts): remove it",
        )
    if user.login_type != "none" and user.email is None:
        yield ConfigIssue(f"{key}.email", f"is required for loginType {user.login_type}")
    if user.login_type == "none" and "owner" in (user.roles or ()):
        yield ConfigIssue(
            f"{key}.roles",
            "a service account (loginType none) may not be an owner: the automation "
            "identity is the one non-human owner",
        )


def _access_issues(
    templates: Mapping[str, TemplateSettings], users: set[str], groups: set[str]
) -> Iterator[ConfigIssue]:
    """Template access names only groups and users the stack declares: after a reset the stack
    re-creates them before the templates, so the access comes back whole (C3)."""
    for key, settings in sorted(templates.items()):
        access = settings.access
        if access is None:
            continue
        unknown_groups = sorted(name for name in access.groups if name not in groups)
        if unknown_groups:
            yield ConfigIssue(
                f"seeding.templates.{key}.access.groups",
                "names groups this stack does not declare in seeding.groups: "
                + ", ".join(unknown_groups),
            )
        unknown_users = sorted(name for name in access.users if name.lower() not in users)
        if unknown_users:
            yield ConfigIssue(
                f"seeding.templates.{key}.access.users",
                "names users this stack does not declare in seeding.users: "
                + ", ".join(unknown_users),
            )
