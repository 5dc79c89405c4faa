"""The template endpoints of the Coder double: files, template versions and their jobs, templates.

Faithful to the rules a real Coder enforces, because a double that is laxer than Coder hides bugs:
``POST /files`` takes a ustar archive only (pax or GNU headers are refused with 400), answers 201
for new content and 200 for content this user already uploaded, and allows 12 uploads a minute
per user unless an Owner sends ``X-Coder-Bypass-Ratelimit: true`` (429 otherwise, 428 for a
non-Owner sending the header). A version's import job reports ``pending``, then ``running``, then
its outcome across successive ``GET /templateversions/{id}`` (``pending_polls`` and
``running_polls``); it fails when the archive has a top-level ``fail.tf`` or no top-level
Terraform, or when a test queued a failure with ``fail_next_import``. Templates are soft-deleted
(a deleted one answers 404 and frees its name) and cannot be deleted while workspaces use them.
"""

from __future__ import annotations

import copy
import io
import tarfile
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

import httpx

from coder_platform.coder_api.models import WEEKDAYS
from coder_platform.coder_api.templates import (
    CONTROL_SHARED_PORTS_FEATURE,
    LIFECYCLE_SETTINGS,
    PORT_SHARE_LEVELS,
    canonical_days,
)
from coder_platform.contracts import TEMPLATE_ACCESS_FEATURE
from testbed.coder_double.core import (
    ORG_ID,
    DoubleUser,
    Handler,
    invalid,
    message,
    reply,
)
from testbed.coder_double.people import RBAC_UPSELL, PeopleDouble

ORG_NAME = "coder"
ORG_REFS = frozenset({"default", ORG_ID, ORG_NAME})
FILES_PER_MINUTE = 12
BYPASS_HEADER = "X-Coder-Bypass-Ratelimit"
ARCHIVE_TYPES = frozenset({"application/x-tar", "application/zip"})
USTAR_MAGIC = b"ustar\x0000"
USTAR_TYPES = frozenset(b"0\x0012345")
NOT_FOUND = "Resource not found or you do not have access to this resource"
WRITER_ROLES = frozenset({"owner", "template-admin"})
IN_USE = "All workspaces must be deleted before a template can be removed."
SUCCESS_LOGS = ("Initializing the backend...", "Terraform has been successfully initialized!")


@dataclass
class DoubleFile:
    id: str
    hash: str
    creator_id: str
    data: bytes


@dataclass
class DoubleVersion:
    id: str
    name: str
    template_id: str | None
    message: str
    file_id: str
    variables: dict[str, str]
    outcome: str  # "succeeded" or "failed"
    error: str
    logs: list[str]
    pending_polls: int
    running_polls: int
    created_at: datetime
    polls: int = 0
    archived: bool = False

    @property
    def status(self) -> str:
        if self.pending_polls + self.running_polls == 0:
            return self.outcome
        if self.polls <= self.pending_polls:
            return "pending"
        if self.polls <= self.pending_polls + self.running_polls:
            return "running"
        return self.outcome

    @property
    def done(self) -> bool:
        return self.status in {"succeeded", "failed"}

    def as_json(self) -> dict[str, Any]:
        status = self.status
        return {
            "id": self.id,
            "name": self.name,
            "template_id": self.template_id,
            "organization_id": ORG_ID,
            "message": self.message,
            "archived": self.archived,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "job": {
                "id": f"job-{self.id}",
                "status": status,
                "error": self.error if status == "failed" else "",
                "file_id": self.file_id,
            },
        }


# coderd's defaults for a new template (codersdk.Template): users may cancel jobs and schedule
# their workspaces, nothing is required, deprecated or cleaned up.
LIFECYCLE_DEFAULTS: dict[str, Any] = {
    "allow_user_cancel_workspace_jobs": True,
    "require_active_version": False,
    "deprecation_message": "",
    "allow_user_autostart": True,
    "allow_user_autostop": True,
    "failure_ttl_ms": 0,
    "time_til_dormant_ms": 0,
    "time_til_dormant_autodelete_ms": 0,
    "autostop_requirement": {"days_of_week": [], "weeks": 1},
    "autostart_requirement": {"days_of_week": list(WEEKDAYS)},
    "max_port_share_level": "owner",
}


@dataclass
class DoubleTemplate:
    id: str
    name: str
    active_version_id: str
    display_name: str = ""
    description: str = ""
    icon: str = ""
    default_ttl_ms: int = 0
    activity_bump_ms: int = 3_600_000
    deleted: bool = False
    lifecycle: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(LIFECYCLE_DEFAULTS))
    # The ACL by id (coderd: user_acl, group_acl); a new template grants Everyone ``use``.
    user_acl: dict[str, str] = field(default_factory=dict)
    group_acl: dict[str, str] = field(default_factory=lambda: {ORG_ID: "use"})

    def as_json(self) -> dict[str, Any]:
        return {
            **self.lifecycle,
            "deprecated": bool(self.lifecycle["deprecation_message"]),
            "id": self.id,
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "icon": self.icon,
            "default_ttl_ms": self.default_ttl_ms,
            "activity_bump_ms": self.activity_bump_ms,
            "active_version_id": self.active_version_id,
            "organization_id": ORG_ID,
            "organization_name": ORG_NAME,
            "provisioner": "terraform",
        }


def _as_coder_stores(key: str, value: Any) -> Any:
    """What coderd keeps of a requirement: days Monday first, 0 weeks stored as 1."""
    if key == "autostop_requirement" and isinstance(value, dict):
        weeks = int(value.get("weeks") or 0)
        return {
            "days_of_week": canonical_days(value.get("days_of_week") or []),
            "weeks": max(weeks, 1),
        }
    if key == "autostart_requirement" and isinstance(value, dict):
        return {"days_of_week": canonical_days(value.get("days_of_week") or [])}
    return value


@dataclass
class QueuedFailure:
    logs: list[str]
    error: str


def is_ustar(data: bytes) -> bool:
    """True when every member header is plain ustar: no pax ('x'/'g') or GNU ('L'/'K') headers,
    and the POSIX magic (GNU archives carry ``ustar  \\0`` instead)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            members = archive.getmembers()
    except tarfile.TarError:
        return False
    for member in members:
        header = data[member.offset : member.offset + tarfile.BLOCKSIZE]
        if header[257:265] != USTAR_MAGIC or header[156] not in USTAR_TYPES:
            return False
    return True


def archive_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        return archive.getnames()


@dataclass
class TemplatesDouble(PeopleDouble):
    """Extends the core with ``/files``, ``/templateversions``, templates and workspace counts."""

    template_records: dict[str, DoubleTemplate] = field(default_factory=dict)  # deleted too
    template_versions: dict[str, DoubleVersion] = field(default_factory=dict)
    files: dict[str, DoubleFile] = field(default_factory=dict)
    workspaces: list[dict[str, str]] = field(default_factory=list)
    uploads: list[tuple[str, datetime]] = field(default_factory=list)
    pending_polls: int = 1
    running_polls: int = 1
    queued_failures: deque[QueuedFailure] = field(default_factory=deque)

    # -- test controls ------------------------------------------------------------------------

    def wipe_extra(self) -> None:
        super().wipe_extra()
        self.template_records.clear()
        self.template_versions.clear()
        self.files.clear()
        self.workspaces.clear()
        self.uploads.clear()

    def extra_routes(self) -> list[tuple[str, str, Handler]]:
        org = r"/organizations/([^/]+)"
        return [
            ("POST", r"/files", self._post_file),
            ("POST", rf"{org}/templateversions", self._post_version),
            ("GET", r"/templateversions/([^/]+)", self._get_version),
            ("GET", r"/templateversions/([^/]+)/logs", self._get_logs),
            ("GET", r"/templates", self._list_templates),
            ("GET", rf"{org}/templates", self._list_org_templates),
            ("POST", rf"{org}/templates", self._post_template),
            ("GET", rf"{org}/templates/([^/]+)", self._get_template_by_name),
            ("GET", r"/templates/([^/]+)", self._get_template),
            ("PATCH", r"/templates/([^/]+)", self._patch_template),
            ("DELETE", r"/templates/([^/]+)", self._delete_template),
            ("GET", r"/templates/([^/]+)/acl", self._get_acl),
            ("PATCH", r"/templates/([^/]+)/acl", self._patch_acl),
            ("GET", r"/templates/([^/]+)/versions", self._list_versions),
            ("PATCH", r"/templates/([^/]+)/versions", self._activate),
            ("GET", r"/workspaces", self._list_workspaces),
            *super().extra_routes(),
        ]

    @property
    def templates(self) -> list[dict[str, Any]]:
        """The live templates as Coder lists them."""
        return self._live()

    @templates.setter
    def templates(self, kept: list[dict[str, Any]]) -> None:
        """Keep only these templates: the others are removed by hand, out of band."""
        ids = {template["id"] for template in kept}
        for template_id in [t for t in self.template_records if t not in ids]:
            del self.template_records[template_id]

    @property
    def versions(self) -> dict[str, list[dict[str, Any]]]:
        """Each template's versions as Coder lists them, oldest first."""
        listed: dict[str, list[dict[str, Any]]] = {}
        for template_id in self.template_records:
            listed[template_id] = [v.as_json() for v in self.versions_of(template_id)]
        return listed

    def versions_of(self, template_id: str) -> list[DoubleVersion]:
        return [v for v in self.template_versions.values() if v.template_id == template_id]

    def live_template(self, name: str) -> DoubleTemplate | None:
        return next(
            (t for t in self.template_records.values() if t.name == name and not t.deleted), None
        )

    def add_template(self, name: str, version_names: list[str]) -> str:
        """A template pushed before the test, its last version active (jobs already done)."""
        template_id = str(uuid.uuid4())
        for version_name in version_names:
            self._new_version(version_name, template_id)
        versions = self.versions_of(template_id)
        self.template_records[template_id] = DoubleTemplate(template_id, name, versions[-1].id)
        return template_id

    def push_by_hand(self, template_id: str) -> str:
        """What ``coder templates push`` does out of band: a new built version, made active."""
        version = self._new_version(None, template_id, text="pushed by hand")
        self.template_records[template_id].active_version_id = version.id
        return version.id

    def add_workspace(self, template_name: str, name: str = "dev") -> str:
        template = self.live_template(template_name)
        assert template is not None, f"no live template {template_name}"
        workspace_id = str(uuid.uuid4())
        self.workspaces.append(
            {"id": workspace_id, "name": name, "template_id": template.id,
             "template_name": template.name}
        )  # fmt: skip
        return workspace_id

    def fail_next_import(self, logs: list[str], error: str = "terraform plan failed") -> None:
        """The next version's import job fails with these log lines."""
        self.queued_failures.append(QueuedFailure(logs, error))

    # -- helpers --------------------------------------------------------------------------------

    def _writer(self, request: httpx.Request, org: str | None = None) -> httpx.Response | None:
        """The error Coder answers to a template write, if any: 401, 403, or 404 for an
        organization this double does not know."""
        caller = self._caller(request)
        if caller is None:
            return message(401, "You must be logged in to access this resource.")
        if not WRITER_ROLES & set(caller.roles):
            return message(403, "Forbidden.")
        if org is not None and org not in ORG_REFS:
            return message(404, NOT_FOUND)
        return None

    def _reader(self, request: httpx.Request) -> httpx.Response | None:
        if self._caller(request) is None:
            return message(401, "You must be logged in to access this resource.")
        return None

    def _new_version(
        self,
        name: str | None,
        template_id: str | None,
        *,
        text: str = "",
        file_id: str = "",
        variables: dict[str, str] | None = None,
        data: bytes = b"",
        built: bool = True,
    ) -> DoubleVersion:
        outcome, error, logs = "succeeded", "", list(SUCCESS_LOGS)
        names = archive_names(data) if data else ["main.tf"]
        if self.queued_failures and not built:
            failure = self.queued_failures.popleft()
            outcome, error, logs = "failed", failure.error, [*SUCCESS_LOGS, *failure.logs]
        elif "fail.tf" in names:
            outcome, error = "failed", "terraform plan: fail.tf asked this import to fail"
            logs = [*SUCCESS_LOGS, "Error: fail.tf asked this import to fail"]
        elif not any("/" not in n and n.endswith((".tf", ".tf.json")) for n in names):
            outcome, error = "failed", "no Terraform configuration files found"
            logs = ["Error: No configuration files"]
        count = len(self.template_versions) + 1
        version = DoubleVersion(
            id=str(uuid.uuid4()),
            name=name or f"version-{count}",
            template_id=template_id,
            message=text,
            file_id=file_id,
            variables=variables or {},
            outcome=outcome,
            error=error,
            logs=logs,
            pending_polls=0 if built else self.pending_polls,
            running_polls=0 if built else self.running_polls,
            created_at=self.now,
        )
        self.template_versions[version.id] = version
        return version

    # -- files ----------------------------------------------------------------------------------

    def _rate_limited(self, request: httpx.Request, caller: DoubleUser) -> httpx.Response | None:
        """coderd's limit on POST /files: 12 a minute per user, unless an Owner bypasses it."""
        if request.headers.get(BYPASS_HEADER) == "true":
            if "owner" not in caller.roles:
                return message(428, f"Cannot send the {BYPASS_HEADER!r} header without Owner.")
            return None
        window = self.now - timedelta(minutes=1)
        recent = [t for user, t in self.uploads if user == caller.id and t > window]
        if len(recent) >= FILES_PER_MINUTE:
            return message(
                429, "You've been rate limited for sending more than 12 requests in 1m0s."
            )
        self.uploads.append((caller.id, self.now))
        return None

    def _post_file(self, request: httpx.Request, body: Any) -> httpx.Response:
        caller = self._caller(request)
        if caller is None:
            return message(401, "You must be logged in to access this resource.")
        if limited := self._rate_limited(request, caller):
            return limited
        if request.headers.get("Content-Type") not in ARCHIVE_TYPES:
            return message(400, "Unsupported content type header.")
        data = request.content
        if not is_ustar(data):
            return message(400, "Failed to parse the archive: only ustar tar archives are read.")
        digest = sha256(data).hexdigest()
        for known in self.files.values():
            if known.hash == digest and known.creator_id == caller.id:
                return reply(200, {"hash": known.id})
        file = DoubleFile(str(uuid.uuid4()), digest, caller.id, data)
        self.files[file.id] = file
        return reply(201, {"hash": file.id})

    # -- template versions ----------------------------------------------------------------------

    def _post_version(self, request: httpx.Request, body: Any, org: str) -> httpx.Response:
        if error := self._writer(request, org):
            return error
        file = self.files.get(body.get("file_id", ""))
        if file is None or body.get("storage_method") != "file":
            return message(400, "File not found.")
        template_id = body.get("template_id")
        if template_id is not None:
            template = self.template_records.get(template_id)
            if template is None or template.deleted:
                return message(404, NOT_FOUND)
            name = body.get("name")
            if name and any(v.name == name for v in self.versions_of(template_id)):
                return message(
                    409, f"A template version with name {name!r} already exists for this template."
                )
        variables = {v["name"]: v["value"] for v in body.get("user_variable_values") or []}
        version = self._new_version(
            body.get("name"),
            template_id,
            text=body.get("message", ""),
            file_id=file.id,
            variables=variables,
            data=file.data,
            built=False,
        )
        return reply(201, version.as_json())

    def _get_version(self, request: httpx.Request, body: Any, version_id: str) -> httpx.Response:
        version = self.template_versions.get(version_id)
        if error := self._reader(request):
            return error
        if version is None:
            return message(404, NOT_FOUND)
        version.polls += 1
        return reply(200, version.as_json())

    def _get_logs(self, request: httpx.Request, body: Any, version_id: str) -> httpx.Response:
        version = self.template_versions.get(version_id)
        if error := self._reader(request):
            return error
        if version is None:
            return message(404, NOT_FOUND)
        shown = version.logs if version.done else version.logs[: 1 if version.polls else 0]
        return reply(
            200,
            [
                {"id": index + 1, "log_source": "provisioner", "log_level": "info",
                 "stage": "Planning infrastructure", "output": line}
                for index, line in enumerate(shown)
            ],
        )  # fmt: skip

    # -- templates ------------------------------------------------------------------------------

    def _live(self) -> list[dict[str, Any]]:
        return [self._template_json(t) for t in self.template_records.values() if not t.deleted]

    def _list_templates(self, request: httpx.Request, body: Any) -> httpx.Response:
        return self._reader(request) or reply(200, self._live())

    def _list_org_templates(self, request: httpx.Request, body: Any, org: str) -> httpx.Response:
        if org not in ORG_REFS:
            return message(404, NOT_FOUND)
        return self._reader(request) or reply(200, self._live())

    def _get_template_by_name(
        self, request: httpx.Request, body: Any, org: str, name: str
    ) -> httpx.Response:
        if error := self._reader(request):
            return error
        template = self.live_template(name) if org in ORG_REFS else None
        if template is None:
            return message(404, NOT_FOUND)
        return reply(200, self._template_json(template))

    def _get_template(self, request: httpx.Request, body: Any, template_id: str) -> httpx.Response:
        if error := self._reader(request):
            return error
        template = self.template_records.get(template_id)
        if template is None or template.deleted:
            return message(404, NOT_FOUND)
        return reply(200, self._template_json(template))

    def _built(self, version: DoubleVersion | None, template_id: str) -> httpx.Response | None:
        """Coder's checks before a version can be (made) active."""
        if version is None:
            return message(404, "Template version not found.")
        if version.template_id not in (None, template_id):
            return message(400, "The provided template version doesn't belong to this template.")
        if not version.done:
            return message(400, "The provided template version is currently being imported.")
        if version.status == "failed":
            return message(400, "The provided template version has failed to import!")
        if version.archived:
            return message(400, "The provided template version is archived.")
        return None

    def _settings_error(
        self, body: dict[str, Any], *, creating: bool = False
    ) -> httpx.Response | None:
        description = body.get("description") or ""
        if creating and len(description) >= 128:  # CreateTemplateRequest: validate lt=128
            return invalid("description", "lt", description)
        if len(description) > 128:  # PATCH does not validate; the column is varchar(128)
            return message(500, "Internal error updating template metadata.", "value too long")
        for key in ("default_ttl_ms", "activity_bump_ms"):
            if (body.get(key) or 0) < 0:
                return message(400, "Invalid request.", f"{key}: must not be negative")
        return None

    def _post_template(self, request: httpx.Request, body: Any, org: str) -> httpx.Response:
        if error := self._writer(request, org):
            return error
        if error := self._settings_error(body, creating=True):
            return error
        name = body.get("name", "")
        if self.live_template(name) is not None:
            return message(409, f"Template with name {name!r} already exists.")
        version = self.template_versions.get(body.get("template_version_id", ""))
        template_id = str(uuid.uuid4())
        if error := self._built(version, template_id):
            return error
        assert version is not None
        if version.template_id is not None:
            return message(400, "The provided template version is already attached to a template.")
        version.template_id = template_id
        template = DoubleTemplate(
            id=template_id,
            name=name,
            active_version_id=version.id,
            display_name=body.get("display_name", ""),
            description=body.get("description", ""),
            icon=body.get("icon", ""),
            default_ttl_ms=body.get("default_ttl_ms", 0),
            activity_bump_ms=body.get("activity_bump_ms", 3_600_000),
        )
        if body.get("disable_everyone_group_access"):
            template.group_acl = {}
        self.template_records[template_id] = template
        return reply(201, self._template_json(template))

    def _patch_template(
        self, request: httpx.Request, body: Any, template_id: str
    ) -> httpx.Response:
        if error := self._writer(request):
            return error
        template = self.template_records.get(template_id)
        if template is None or template.deleted:
            return message(404, NOT_FOUND)
        level = body.get("max_port_share_level")
        if error := self._settings_error(body) or self._port_share_error(template, level):
            return error
        renamed = body.get("name")
        if renamed and renamed != template.name and self.live_template(renamed) is not None:
            return message(409, f"Template with name {renamed!r} already exists.")
        keys = ("name", "display_name", "description", "icon", "default_ttl_ms", "activity_bump_ms")
        changes = {k: body[k] for k in keys if k in body and body[k] != getattr(template, k)}
        # coderd's AGPL stores ignore a Premium setting without its feature: no error, no change.
        wanted = {k: _as_coder_stores(k, body[k]) for k in LIFECYCLE_DEFAULTS if k in body}
        lifecycle = {
            setting.name: wanted[setting.name]
            for setting in LIFECYCLE_SETTINGS
            if setting.name in wanted
            and wanted[setting.name] != template.lifecycle[setting.name]
            and (setting.feature is None or self.allows(setting.feature))
        }
        if not changes and not lifecycle:
            return httpx.Response(304)
        for key, value in changes.items():
            setattr(template, key, value)
        template.lifecycle |= lifecycle
        return reply(200, self._template_json(template))

    def _template_json(self, template: DoubleTemplate) -> dict[str, Any]:
        """coderd's convertTemplate: without control_shared_ports the AGPL port sharer reports
        every template's maximum as public."""
        data = template.as_json()
        if not self.allows(CONTROL_SHARED_PORTS_FEATURE):
            data["max_port_share_level"] = "public"
        return data

    def _port_share_error(self, template: DoubleTemplate, level: Any) -> httpx.Response | None:
        """patchTemplateMeta: a level other than the reported one is validated by the port
        sharer; the AGPL one refuses every change (an enterprise feature not enabled)."""
        if level is None or level == self._template_json(template)["max_port_share_level"]:
            return None
        if not self.allows(CONTROL_SHARED_PORTS_FEATURE):
            detail = "Restricting port sharing level is an enterprise feature that is not enabled."
        elif level not in PORT_SHARE_LEVELS:
            detail = "invalid max port sharing level"
        else:
            return None
        validation = {"field": "max_port_sharing_level", "detail": detail}
        refused = {"message": "Invalid request to update template metadata!"}
        return reply(400, {**refused, "validations": [validation]})

    def _delete_template(
        self, request: httpx.Request, body: Any, template_id: str
    ) -> httpx.Response:
        if error := self._writer(request):
            return error
        template = self.template_records.get(template_id)
        if template is None or template.deleted:
            return message(404, NOT_FOUND)
        if any(w["template_id"] == template_id for w in self.workspaces):
            return message(400, IN_USE)
        template.deleted = True
        return message(200, "Template has been deleted!")

    def _list_versions(self, request: httpx.Request, body: Any, template_id: str) -> httpx.Response:
        if error := self._reader(request):
            return error
        template = self.template_records.get(template_id)
        if template is None or template.deleted:
            return message(404, NOT_FOUND)
        return reply(200, [v.as_json() for v in self.versions_of(template_id)])

    def _activate(self, request: httpx.Request, body: Any, template_id: str) -> httpx.Response:
        if error := self._writer(request):
            return error
        template = self.template_records.get(template_id)
        if template is None or template.deleted:
            return message(404, NOT_FOUND)
        version = self.template_versions.get(body.get("id", ""))
        if error := self._built(version, template_id):
            return error
        assert version is not None
        if version.template_id != template_id:
            return message(400, "The provided template version doesn't belong to this template.")
        template.active_version_id = version.id
        return message(200, "Updated the active template version!")

    # -- template ACLs (enterprise/coderd/templates.go) -------------------------------------------

    def _acl_guard(self, request: httpx.Request, template_id: str) -> httpx.Response | None:
        """The template_rbac feature first (coderd's middleware runs before the key check)."""
        if not self.allows(TEMPLATE_ACCESS_FEATURE):
            return message(403, RBAC_UPSELL)
        if self._caller(request) is None:
            return message(401, "You must be logged in to access this resource.")
        template = self.template_records.get(template_id)
        if template is None or template.deleted:
            return message(404, NOT_FOUND)
        return None

    def _get_acl(self, request: httpx.Request, body: Any, template_id: str) -> httpx.Response:
        if error := self._acl_guard(request, template_id):
            return error
        template = self.template_records[template_id]
        users = [
            {**self.users[user_id].as_json(), "role": role}
            for user_id, role in template.user_acl.items()
            if user_id in self.users
        ]
        groups = [
            {**self._acl_group_json(group_id), "role": role}
            for group_id, role in template.group_acl.items()
            if group_id == ORG_ID or group_id in self.groups
        ]
        return reply(200, {"users": users, "group": groups})

    def _acl_group_json(self, group_id: str) -> dict[str, Any]:
        if group_id == ORG_ID:  # the Everyone group: its id is the organization's
            return self.everyone_json()
        return self._group_json(self.groups[group_id])

    def _patch_acl(self, request: httpx.Request, body: Any, template_id: str) -> httpx.Response:
        if error := self._acl_guard(request, template_id):
            return error
        if error := self._writer(request):
            return error
        template = self.template_records[template_id]
        user_perms, group_perms = body.get("user_perms") or {}, body.get("group_perms") or {}
        validations = (
            [
                {"field": "user_perms", "detail": f"Failed to find resource with ID {user_id!r}"}
                for user_id in user_perms
                if user_id not in self.users
            ]
            + [
                {"field": "group_perms", "detail": f"Failed to find resource with ID {group_id!r}"}
                for group_id in group_perms
                if group_id != ORG_ID and group_id not in self.groups
            ]
            + [
                {"field": field, "detail": f"role {role!r} is not a valid template role"}
                for field, perms in (("user_perms", user_perms), ("group_perms", group_perms))
                for role in perms.values()
                if role not in ("use", "admin", "")
            ]
        )
        if validations:
            return reply(
                400,
                {"message": "Invalid request to update template ACL", "validations": validations},
            )
        for acl, perms in ((template.user_acl, user_perms), (template.group_acl, group_perms)):
            for entry_id, role in perms.items():
                if role:
                    acl[entry_id] = role
                else:
                    acl.pop(entry_id, None)
        return message(200, "Successfully updated template ACL list.")

    # -- workspaces -----------------------------------------------------------------------------

    def _list_workspaces(self, request: httpx.Request, body: Any) -> httpx.Response:
        if error := self._reader(request):
            return error
        query = request.url.params.get("q", "")
        found = self.workspaces
        if query.startswith("template:"):
            name = query.removeprefix("template:")
            found = [w for w in self.workspaces if w["template_name"] == name]
        limit = int(request.url.params.get("limit", "0") or 0)
        shown = found[:limit] if limit > 0 else found
        return reply(200, {"workspaces": shown, "count": len(found)})
