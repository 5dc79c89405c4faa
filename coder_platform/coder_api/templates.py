"""Template endpoints: file upload, template versions and their provisioner jobs, templates.

Coder has no "template from a directory" call: a template is an uploaded archive (``POST
/files``), a template version built from it by a provisioner job (``POST
/organizations/{org}/templateversions``, then poll ``GET /templateversions/{id}`` until the job
ends), and a template that points at an active version (``POST /organizations/{org}/templates``,
``PATCH /templates/{id}/versions``). Facts each method relies on are in its docstring; the
sources are coderd's handlers (``coderd/files.go``, ``templateversions.go``, ``templates.go``)
and the coderd Terraform provider, which drives the same calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coder_platform.coder_api.core import CoderClientCore, segment
from coder_platform.coder_api.errors import (
    CoderApiError,
    CoderJobTimeoutError,
    CoderNotFoundError,
    CoderTemplateInUseError,
    CoderUnreachableError,
)
from coder_platform.coder_api.models import (
    WEEKDAYS,
    ProvisionerJobLog,
    Template,
    TemplateVersion,
)

TAR_CONTENT_TYPE = "application/x-tar"
# Coder limits POST /files to 12 a minute per user; an Owner may skip the limit with this header
# (coderd httpmw.RateLimit; anyone else sending it is refused).
BYPASS_RATELIMIT_HEADER = "X-Coder-Bypass-Ratelimit"
IN_USE_MESSAGE = "All workspaces must be deleted"
MAX_JOB_POLL_SECONDS = 5.0
DEFAULT_LOG_LINES = 20


@dataclass(frozen=True)
class TemplateMeta:
    """The template settings this project manages, as codersdk's ``UpdateTemplateMeta`` names
    the ``PATCH /templates/{id}`` body (fields not sent are left unchanged). The stack config's
    side is ``coder_platform.config.seeded_state.TemplateSettings``."""

    display_name: str = ""
    description: str = ""
    icon: str = ""
    default_ttl_ms: int = 0
    activity_bump_ms: int = 3_600_000

    def as_json(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "description": self.description,
            "icon": self.icon,
            "default_ttl_ms": self.default_ttl_ms,
            "activity_bump_ms": self.activity_bump_ms,
        }

    @classmethod
    def of(cls, template: Template) -> TemplateMeta:
        return cls(
            display_name=template.display_name,
            description=template.description,
            icon=template.icon,
            default_ttl_ms=template.default_ttl_ms,
            activity_bump_ms=template.activity_bump_ms,
        )


@dataclass(frozen=True)
class LifecycleSetting:
    """One template lifecycle or security setting, by coderd's JSON name (``UpdateTemplateMeta``
    and ``Template``), its type, and the Premium feature Coder needs to honour it (None: free).
    Without that feature coderd's AGPL stores ignore the value (``AccessControlStore``,
    ``TemplateScheduleStore``) or, for the port share level, refuse any but ``public``
    (``AGPLPortSharer``), so it would never converge: callers check /entitlements first.
    ``choices`` lists a text setting's allowed values (None: any text)."""

    name: str
    kind: type
    feature: str | None
    choices: tuple[str, ...] | None = None


ACCESS_CONTROL_FEATURE = "access_control"
ADVANCED_SCHEDULING_FEATURE = "advanced_template_scheduling"
CONTROL_SHARED_PORTS_FEATURE = "control_shared_ports"
# coderd's schedule.MaxTemplateAutostopRequirementWeeks; Coder stores 0 as 1 (weekly).
MAX_AUTOSTOP_WEEKS = 16
# codersdk.WorkspaceAgentPortShareLevel, as a template's maximum (ValidMaxLevel).
PORT_SHARE_LEVELS = ("owner", "authenticated", "organization", "public")
LIFECYCLE_SETTINGS: tuple[LifecycleSetting, ...] = (
    LifecycleSetting("allow_user_cancel_workspace_jobs", bool, None),
    LifecycleSetting("require_active_version", bool, ACCESS_CONTROL_FEATURE),
    LifecycleSetting("deprecation_message", str, ACCESS_CONTROL_FEATURE),
    LifecycleSetting("allow_user_autostart", bool, ADVANCED_SCHEDULING_FEATURE),
    LifecycleSetting("allow_user_autostop", bool, ADVANCED_SCHEDULING_FEATURE),
    LifecycleSetting("failure_ttl_ms", int, ADVANCED_SCHEDULING_FEATURE),
    LifecycleSetting("time_til_dormant_ms", int, ADVANCED_SCHEDULING_FEATURE),
    LifecycleSetting("time_til_dormant_autodelete_ms", int, ADVANCED_SCHEDULING_FEATURE),
    # {"days_of_week": [...], "weeks": n}: restart on these days every n weeks.
    LifecycleSetting("autostop_requirement", dict, ADVANCED_SCHEDULING_FEATURE),
    # {"days_of_week": [...]}: the days autostart is permitted on.
    LifecycleSetting("autostart_requirement", dict, ADVANCED_SCHEDULING_FEATURE),
    LifecycleSetting("max_port_share_level", str, CONTROL_SHARED_PORTS_FEATURE, PORT_SHARE_LEVELS),
)
LIFECYCLE_BY_NAME = {setting.name: setting for setting in LIFECYCLE_SETTINGS}


def canonical_days(days: Iterable[Any]) -> list[str]:
    """Days as Coder answers them: known weekdays, each once, Monday first."""
    wanted = {str(day).lower() for day in days}
    return [day for day in WEEKDAYS if day in wanted]


def live_lifecycle(template: Template, names: Iterable[str]) -> dict[str, Any]:
    """The live value of each named lifecycle setting."""
    return {name: getattr(template, name) for name in names if name in LIFECYCLE_BY_NAME}


class TemplateEndpoints(CoderClientCore):
    """``/files``, ``/templateversions``, ``/templates`` and the organization's template routes."""

    # -- files ----------------------------------------------------------------------------------

    def upload_file(self, data: bytes) -> str:
        """POST /files with a tar body; returns the file id (Coder names the field ``hash``).

        201 is a new file, 200 the same content already uploaded by this user: both succeed.
        The bypass header keeps a run that publishes many templates under the 12/minute limit.
        """
        headers = {"Content-Type": TAR_CONTENT_TYPE, BYPASS_RATELIMIT_HEADER: "true"}
        # Content-addressed: a repeat answers 200 with the same id.
        response = self._send(
            "POST", "/files", content=data, extra_headers=headers, replayable=True
        )
        return self._field(self._check(response, "POST"), "hash", "POST", "/files")

    # -- template versions ----------------------------------------------------------------------

    def create_template_version(
        self,
        organization: str,
        file_id: str,
        *,
        template_id: str | None = None,
        message: str = "",
        variables: Mapping[str, str] | None = None,
    ) -> TemplateVersion:
        """POST /organizations/{org}/templateversions: starts the import job; returns at once.

        Without ``template_id`` the version waits to be attached by ``create_template``. Coder
        names the version; ``variables`` become ``user_variable_values`` (Terraform variables).
        """
        path = f"/organizations/{segment(organization)}/templateversions"
        body: dict[str, Any] = {
            "storage_method": "file",
            "provisioner": "terraform",
            "file_id": file_id,
            "message": message,
            "tags": {},
            "user_variable_values": [
                {"name": name, "value": value} for name, value in sorted((variables or {}).items())
            ],
        }
        if template_id is not None:
            body["template_id"] = template_id
        try:
            response = self._send("POST", path, json=body)
        except CoderUnreachableError as lost:
            # Each POST makes a new version: send it again only once it is known not to have
            # landed. A version without a template is not listed anywhere; the next run makes one.
            if not lost.maybe_applied or template_id is None:
                raise
            landed = self._version_from(template_id, file_id, message)
            if landed is not None:
                return landed
            response = self._send("POST", path, json=body)
        data = self._check(response, "POST")
        return self._parse(TemplateVersion, "POST", path, data)

    def _version_from(self, template_id: str, file_id: str, message: str) -> TemplateVersion | None:
        """The newest version of the template built from this upload with this message."""
        found = [
            version
            for version in self.list_template_versions(template_id)
            if version.job is not None
            and version.job.file_id == file_id
            and version.message == message
        ]
        return max(
            found, key=lambda v: v.created_at or datetime.min.replace(tzinfo=UTC), default=None
        )

    def get_template_version(self, version_id: str) -> TemplateVersion | None:
        """GET /templateversions/{id} (with its job); None when Coder has no such version."""
        path = f"/templateversions/{segment(version_id)}"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        return self._parse(TemplateVersion, "GET", path, self._check(response, "GET"))

    def template_version_logs(
        self, version_id: str, last: int = DEFAULT_LOG_LINES
    ) -> list[ProvisionerJobLog]:
        """GET /templateversions/{id}/logs: the job's last ``last`` log lines, oldest first."""
        path = f"/templateversions/{segment(version_id)}/logs"
        logs = self._models(ProvisionerJobLog, path)
        return logs[-last:] if last > 0 else []

    def wait_for_version_job(
        self, version_id: str, deadline_seconds: float, poll: float = 1.0
    ) -> TemplateVersion:
        """Poll the version until its import job ends (P1: bounded, with a deadline).

        Returns the version with a finished job, succeeded or not: the caller decides what a
        failure means. Raises ``CoderJobTimeoutError`` when the job is still pending or running
        at the deadline, and ``CoderNotFoundError`` if the version disappears.
        """
        path = f"/templateversions/{segment(version_id)}"
        deadline = self._clock.monotonic() + deadline_seconds
        delay = max(poll, 0.0)
        while True:
            version = self.get_template_version(version_id)
            if version is None:
                raise CoderNotFoundError("GET", path, 404, "the template version disappeared")
            if version.job is None:
                raise CoderApiError("GET", path, 200, "response has no provisioner job")
            if not version.job.active:
                return version
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise CoderJobTimeoutError(
                    "GET",
                    path,
                    f"the import job was still {version.job.status} after "
                    f"{deadline_seconds:g}s: check that a provisioner daemon is running",
                    last_status=version.job.status,
                )
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_JOB_POLL_SECONDS)

    # -- templates ------------------------------------------------------------------------------

    def get_template(self, template_id: str) -> Template | None:
        """GET /templates/{id}; None when it does not exist (or was deleted: Coder answers 404
        for a soft-deleted template)."""
        path = f"/templates/{segment(template_id)}"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        return self._parse(Template, "GET", path, self._check(response, "GET"))

    def get_template_by_name(self, organization: str, name: str) -> Template | None:
        """GET /organizations/{org}/templates/{name}; None when no live template has the name."""
        path = f"/organizations/{segment(organization)}/templates/{segment(name)}"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        return self._parse(Template, "GET", path, self._check(response, "GET"))

    def create_template(
        self,
        organization: str,
        name: str,
        version_id: str,
        settings: TemplateMeta,
        *,
        disable_everyone_group_access: bool = False,
    ) -> Template:
        """POST /organizations/{org}/templates with a built version (it becomes active).
        409 (the name is taken) raises CoderConflictError. Coder grants the organization's
        Everyone group ``use`` on a new template unless ``disable_everyone_group_access``."""
        path = f"/organizations/{segment(organization)}/templates"
        body = {"name": name, "template_version_id": version_id, **settings.as_json()}
        if disable_everyone_group_access:
            body["disable_everyone_group_access"] = True
        data = self._check(self._send("POST", path, json=body), "POST")
        return self._parse(Template, "POST", path, data)

    def update_template_settings(
        self,
        template_id: str,
        settings: TemplateMeta,
        *,
        name: str | None = None,
        lifecycle: Mapping[str, Any] | None = None,
    ) -> Template | None:
        """PATCH /templates/{id} with the managed settings only, ``name`` when given (a rename
        in place: coderd's ``UpdateTemplateMeta.name``), and the declared lifecycle settings.
        Coder answers 304 when nothing changed (None here); callers compare first."""
        path = f"/templates/{segment(template_id)}"
        body = settings.as_json() | ({"name": name} if name is not None else {})
        body |= {key: value for key, value in (lifecycle or {}).items() if key in LIFECYCLE_BY_NAME}
        response = self._send("PATCH", path, json=body)
        if response.status_code == 304:
            return None
        return self._parse(Template, "PATCH", path, self._check(response, "PATCH"))

    def activate_version(self, template_id: str, version_id: str) -> None:
        """PATCH /templates/{id}/versions: the version must belong to the template, be built,
        and not be archived (else 400)."""
        path = f"/templates/{segment(template_id)}/versions"
        self._check(self._send("PATCH", path, json={"id": version_id}), "PATCH")

    def delete_template(self, template_id: str, name: str) -> bool:
        """DELETE /templates/{id}; False when it was already gone (404).

        Coder refuses while workspaces use the template (400 "All workspaces must be deleted
        before a template can be removed."): that raises ``CoderTemplateInUseError`` with the
        workspace count, and nothing is changed.
        """
        path = f"/templates/{segment(template_id)}"
        response = self._send("DELETE", path)
        if response.status_code == 404:
            return False
        try:
            self._check(response, "DELETE")
        except CoderApiError as error:
            if error.status != 400 or IN_USE_MESSAGE not in error.message:
                raise
            try:
                count: int | None = self.template_workspace_count(name)
            except CoderApiError:
                count = None
            raise CoderTemplateInUseError(
                "DELETE", path, error.message, template=name, workspace_count=count
            ) from None
        return True

    def template_workspace_count(self, name: str) -> int:
        """GET /workspaces?q=template:<name>: how many workspaces use the template."""
        params = {"q": f"template:{name}", "limit": "1"}
        data = self._check(self._send("GET", "/workspaces", params=params), "GET")
        count = data.get("count") if isinstance(data, dict) else None
        if not isinstance(count, int):
            raise CoderApiError("GET", "/workspaces", 200, "response has no integer count")
        return count
