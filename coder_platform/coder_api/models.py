"""Typed views of the Coder API objects the platform reads (``codersdk`` shapes, extra ignored).

Named as codersdk names them (``User``, ``Group``, ``Template``...), never like the resources
that manage them (``components/providers/``' ``CoderUser``, ``CoderGroup``...).

Only the fields the providers and the runner use are declared; unknown fields are ignored so a
newer Coder does not break a reconcile. ``hide_input_in_errors`` keeps response content out of
validation errors (contract C2: nothing a server sent is echoed into a message).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# codersdk.AllDaysOfWeek: the order Coder lists days in (its bitmap's, Monday first).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class CoderModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


class BuildInfo(CoderModel):
    """GET /buildinfo: answered without auth, so it is the readiness probe."""

    version: str
    external_url: str = ""
    dashboard_url: str = ""
    deployment_id: str = ""


class Role(CoderModel):
    name: str
    display_name: str = ""


class User(CoderModel):
    id: str
    username: str
    email: str = ""  # empty for a service account
    name: str = ""
    status: str = ""
    login_type: str = ""
    roles: list[Role] = []

    @property
    def is_owner(self) -> bool:
        return any(role.name == "owner" for role in self.roles)

    @property
    def site_roles(self) -> list[str]:
        """The site-wide roles, sorted (``member`` is implicit: Coder never lists it)."""
        return sorted(role.name for role in self.roles)

    @property
    def suspended(self) -> bool:
        return self.status == "suspended"


class ApiKey(CoderModel):
    """An API token's metadata (never its secret: Coder returns that only once, at creation)."""

    id: str
    token_name: str
    expires_at: datetime
    lifetime_seconds: int


class Template(CoderModel):
    id: str
    name: str
    active_version_id: str
    display_name: str = ""
    organization_id: str = ""
    description: str = ""
    icon: str = ""
    default_ttl_ms: int = 0
    activity_bump_ms: int = 0
    # Lifecycle and security settings (codersdk.Template); see templates.LIFECYCLE_SETTINGS.
    allow_user_cancel_workspace_jobs: bool = True
    require_active_version: bool = False
    deprecation_message: str = ""
    allow_user_autostart: bool = True
    allow_user_autostop: bool = True
    failure_ttl_ms: int = 0
    time_til_dormant_ms: int = 0
    time_til_dormant_autodelete_ms: int = 0
    # codersdk.TemplateAutostopRequirement / TemplateAutostartRequirement, as Coder sends them
    # (days Monday first; weeks at least 1); Coder's defaults: no restart, autostart every day.
    autostop_requirement: dict[str, Any] = {"days_of_week": [], "weeks": 1}
    autostart_requirement: dict[str, Any] = {
        "days_of_week": [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ]
    }
    max_port_share_level: str = "owner"


class TemplateAclUser(CoderModel):
    """A user's entry in a template's ACL (``codersdk.TemplateUser``: the user and a role)."""

    id: str
    username: str = ""
    role: str = ""  # admin, use, or "" for a set of actions neither role names


class TemplateAclGroup(CoderModel):
    """A group's entry in a template's ACL (``codersdk.TemplateGroup``). The organization's
    Everyone group is the one whose id equals its organization id (coderd makes it so)."""

    id: str
    name: str = ""
    organization_id: str = ""
    role: str = ""

    @property
    def is_everyone(self) -> bool:
        return bool(self.organization_id) and self.id == self.organization_id


class TemplateAcl(CoderModel):
    """GET /templates/{id}/acl (``codersdk.TemplateACL``): note Coder's JSON name ``group``
    (singular) for the groups."""

    users: list[TemplateAclUser] = []
    groups: list[TemplateAclGroup] = Field(default_factory=list, alias="group")


class TemplateVersion(CoderModel):
    id: str
    name: str
    template_id: str | None = None
    message: str = ""
    created_at: datetime | None = None
    archived: bool = False
    job: ProvisionerJob | None = None  # the import job (GET /templateversions/{id})


class ProvisionerJob(CoderModel):
    """A template version's import job: ``terraform init/plan`` run by a provisioner daemon."""

    id: str = ""
    status: str  # pending, running, succeeded, canceling, canceled, failed, unknown
    error: str = ""
    file_id: str = ""  # the uploaded archive the job imports

    @property
    def active(self) -> bool:
        return self.status in {"pending", "running", "canceling"}

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


class ProvisionerJobLog(CoderModel):
    """One line of a job's log (GET /templateversions/{id}/logs)."""

    id: int
    stage: str = ""
    log_level: str = ""
    output: str = ""


class GroupMember(CoderModel):
    """A group member as ``GET /groups/{id}`` lists it (``codersdk.ReducedUser``)."""

    id: str
    username: str = ""


class Group(CoderModel):
    id: str
    name: str
    display_name: str = ""
    organization_id: str = ""
    avatar_url: str = ""
    quota_allowance: int = 0
    members: list[GroupMember] = []

    @property
    def member_usernames(self) -> list[str]:
        return sorted(member.username for member in self.members)


class EntitlementFeature(CoderModel):
    """One feature of ``GET /entitlements``: ``entitlement`` is entitled, grace_period or
    not_entitled; ``enabled`` says whether the deployment turned it on."""

    entitlement: str = "not_entitled"
    enabled: bool = False

    @property
    def usable(self) -> bool:
        return self.enabled and self.entitlement in {"entitled", "grace_period"}


class Entitlements(CoderModel):
    features: dict[str, EntitlementFeature] = {}
    has_license: bool = False

    def allows(self, feature: str) -> bool:
        found = self.features.get(feature)
        return found is not None and found.usable


class License(CoderModel):
    """A license as ``GET /licenses`` lists it: its claims verbatim, never the JWT itself (a
    signed license is a bearer credential, so Coder does not return it)."""

    id: int
    uuid: str = ""
    uploaded_at: datetime | None = None
    claims: dict[str, Any] = {}

    @property
    def expires_at(self) -> datetime | None:
        """The ``license_expires`` claim (Unix seconds), as codersdk's ``License.ExpiresAt``."""
        value = self.claims.get("license_expires")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return datetime.fromtimestamp(value, tz=UTC)
