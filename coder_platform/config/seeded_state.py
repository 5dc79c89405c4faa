"""The Coder state a stack seeds besides the automation identity: templates, users, groups and
the license, shaped like the coderd Terraform provider's resources so Coder users recognise them.

Secrets never sit here: a password user names a Vault path (key ``password``), the license a
Vault path (key ``license``), and the program reads both before anything is registered (C1, C5).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from coder_platform.config.base import ConfigModel, KvPath

# Coder's own rules: usernames are 1-32 letters, digits or inner hyphens; template and group
# names are lowercase-ish identifiers of up to 32 characters.
USERNAME = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$"
TEMPLATE_OR_GROUP_NAME = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TERRAFORM_VARIABLE = r"^[A-Za-z_][A-Za-z0-9_-]*$"
MINUTE_MS = 60_000
# The names are coderd's (UpdateTemplateMeta); coder_api.templates.LIFECYCLE_SETTINGS says
# which Premium feature each needs (a test keeps the two lists equal).
LIFECYCLE_FIELDS = (
    "allow_user_cancel_workspace_jobs",
    "require_active_version",
    "deprecation_message",
    "allow_user_autostart",
    "allow_user_autostop",
    "failure_ttl_ms",
    "time_til_dormant_ms",
    "time_til_dormant_autodelete_ms",
    "autostop_requirement",
    "autostart_requirement",
    "max_port_share_level",
)
# The config key of autostart_requirement.days_of_week (Coder's bitmap of permitted days).
AUTOSTART_DAYS_FIELD = "autostart_permitted_days_of_week"
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PortShareLevel = Literal["owner", "authenticated", "organization", "public"]

LoginType = Literal["oidc", "github", "password", "none"]
SiteRole = Literal["owner", "template-admin", "user-admin", "auditor"]
TemplateRole = Literal["use", "admin"]


def _distinct_days(days: list[Weekday] | None) -> list[Weekday] | None:
    if days is not None and len(set(days)) != len(days):
        raise ValueError("names a day more than once (coderd refuses a weekday twice)")
    return days


class AutostopRequirement(ConfigModel):
    """coderd's ``autostop_requirement``: workspaces must stop (restart) in their owner's quiet
    hours on these days, every ``weeks`` weeks."""

    days_of_week: list[Weekday] = Field(
        default_factory=list, description="lowercase weekdays; none: no required stop"
    )
    weeks: int = Field(1, ge=1, le=16, description="1 weekly, 2 fortnightly, ... up to 16")

    @field_validator("days_of_week")
    @classmethod
    def _days(cls, value: list[Weekday]) -> list[Weekday]:
        _distinct_days(value)
        return value


class TemplateAccess(ConfigModel):
    """Who may use or administer a template (Premium: template_rbac), coderd's ``acl``: the
    groups and users named here get their role, every other entry is taken away, and the
    organization's Everyone group keeps ``use`` or has no access (``none``)."""

    groups: dict[str, TemplateRole] = Field(
        default_factory=dict, description="group name (declared in seeding.groups): use or admin"
    )
    users: dict[str, TemplateRole] = Field(
        default_factory=dict, description="username (declared in seeding.users): use or admin"
    )
    everyone: Literal["use", "none"] = Field(
        "use",
        description="use: the Everyone group may use the template (Coder's default); none: only "
        "the groups and users named here (and owners, template admins) may",
    )


class TemplateSettings(ConfigModel):
    """Settings for one directory under ``templates/`` (the key is the directory name)."""

    name: str = Field(
        "",
        pattern=r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$",
        max_length=32,
        description="Coder's template name, the directory's when empty; a change renames the "
        "template in place (PATCH /templates/{id}), as coderd does",
    )
    display_name: str = Field("", max_length=64, description="up to 64 characters")
    description: str = Field("", max_length=127, description="up to 127 characters")
    icon: str = Field("", description="an icon path or URL, such as /icon/k8s.png")
    default_ttl_ms: int = Field(0, ge=0, description="default workspace TTL in ms, 0 for none")
    activity_bump_ms: int = Field(
        3_600_000, ge=0, description="how far activity pushes the deadline, in ms"
    )
    variables: dict[str, str] = Field(
        default_factory=dict, description="Terraform variables by name (strings)"
    )
    # Lifecycle and security settings, coderd's names and meanings; unset: not managed (Coder's
    # value stands). Premium ones need access_control or advanced_template_scheduling.
    allow_user_cancel_workspace_jobs: bool | None = None
    require_active_version: bool | None = Field(None, description="Premium: access_control")
    deprecation_message: str | None = Field(
        None, description="Premium: access_control; non-empty deprecates the template"
    )
    allow_user_autostart: bool | None = Field(
        None, description="Premium: advanced_template_scheduling"
    )
    allow_user_autostop: bool | None = Field(
        None, description="Premium: advanced_template_scheduling"
    )
    failure_ttl_ms: int | None = Field(
        None, ge=0, description="Premium: advanced_template_scheduling; 0 or at least 60000"
    )
    time_til_dormant_ms: int | None = Field(
        None, ge=0, description="Premium: advanced_template_scheduling; 0 or at least 60000"
    )
    time_til_dormant_autodelete_ms: int | None = Field(
        None, ge=0, description="Premium: advanced_template_scheduling; 0 or at least 60000"
    )

    autostop_requirement: AutostopRequirement | None = Field(
        None, description="Premium: advanced_template_scheduling; {daysOfWeek, weeks}"
    )
    autostart_permitted_days_of_week: list[Weekday] | None = Field(
        None,
        description="Premium: advanced_template_scheduling; the days autostart may run "
        "(Coder's autostart_requirement.days_of_week; [] forbids autostart)",
    )
    max_port_share_level: PortShareLevel | None = Field(
        None,
        description="Premium: control_shared_ports; the widest a workspace may share a port: "
        "owner, authenticated, organization or public",
    )
    access: TemplateAccess | None = Field(
        None,
        description="Premium (template_rbac): the template's ACL; unset: not managed (every "
        "template is open to the organization's Everyone group by default)",
    )

    @field_validator("failure_ttl_ms", "time_til_dormant_ms", "time_til_dormant_autodelete_ms")
    @classmethod
    def _at_least_a_minute(cls, value: int | None) -> int | None:
        if value is not None and 0 < value < MINUTE_MS:
            raise ValueError("must be 0 (off) or at least one minute (60000), as coderd checks")
        return value

    @field_validator(AUTOSTART_DAYS_FIELD)
    @classmethod
    def _autostart_days(cls, value: list[Weekday] | None) -> list[Weekday] | None:
        return _distinct_days(value)

    def lifecycle(self) -> dict[str, Any]:
        """The declared lifecycle settings by coderd's JSON name (unset ones left out)."""
        declared: dict[str, Any] = {}
        for name in LIFECYCLE_FIELDS:
            if name == "autostart_requirement":
                days = getattr(self, AUTOSTART_DAYS_FIELD)
                value: Any = None if days is None else {"days_of_week": list(days)}
            elif name == "autostop_requirement":
                stop = self.autostop_requirement
                value = (
                    None
                    if stop is None
                    else {"days_of_week": list(stop.days_of_week), "weeks": stop.weeks}
                )
            else:
                value = getattr(self, name)
            if value is not None:
                declared[name] = value
        return declared

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name in value if not re.fullmatch(TERRAFORM_VARIABLE, name))
        if bad:
            raise ValueError(f"not Terraform variable names: {', '.join(bad)}")
        return value


class UserConfig(ConfigModel):
    """A Coder user this stack owns. People log in by OIDC; the automation identity is Coder's
    first user and never one of these."""

    username: str = Field(
        ..., pattern=USERNAME, max_length=32, description="1-32 letters, digits, inner hyphens"
    )
    email: str | None = Field(
        None,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="an email address; required, except for a service account (loginType "
        "none), which Coder creates without one",
    )
    name: str = Field("", max_length=128, description="the display name")
    login_type: LoginType = Field("oidc", description="one of oidc, github, password, none")
    roles: list[SiteRole] | None = Field(
        None,
        description="site roles: owner, template-admin, user-admin, auditor; unset leaves them "
        "to Coder (an IdP's role sync owns them), [] means none",
    )
    suspended: bool = False
    password_path: KvPath | None = Field(
        None, description="KV path holding key password (password users only)"
    )


class GroupConfig(ConfigModel):
    """A Coder group (Premium: needs the template_rbac entitlement)."""

    name: str = Field(
        ..., pattern=TEMPLATE_OR_GROUP_NAME, max_length=32, description="lowercase, digits, -"
    )
    display_name: str = Field("", max_length=64)
    members: list[str] = Field(
        default_factory=list, description="usernames of users this stack declares"
    )
    quota_allowance: int = Field(0, ge=0, description="workspace quota credits, 0 or more")


class LicenseConfig(ConfigModel):
    """Where the license JWT lives in Vault (a database reset drops licenses with everything)."""

    vault_path: KvPath = Field(..., description="KV path holding key license")
