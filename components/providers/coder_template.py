"""CoderTemplate: a Coder template built from a directory of this repository, shaped like coderd's
``coderd_template`` (``name``, ``display_name``, ``description``, ``icon``, ``default_ttl_ms``,
``activity_bump_ms``, and the Terraform variables of its version).

Why it exists: a Coder database reset loses every template, and ``coder templates push`` makes a
new version on every run (coder/coder#15180). Here the program passes the directory's content
hash (``coder_platform.template_archive.directory_hash``) as an input, and a new version is made
only when that hash or the variables change; settings alone are patched in place. Each version's
message records the hash it was built from, so a template found by name (left by a retained
delete, or state that was dropped) is adopted without a new version when it already runs ours.

Contract clauses served: C1 (``check`` names each bad field, never a value), C2 (a second run
with nothing changed makes zero writes: ``read`` is one GET and ``diff`` calls nothing; ``token``
and ``source_root`` never count as a change, so a token rotation shows no diff), C3 (``read``
reports a template gone after a reset or a hand delete, and an active version that is not ours
as drift that ``update`` takes back), and the job's log lines in an error are redacted.

Credentials in state: Pulumi keeps a resource's old outputs when nothing changed, so after a
rotation the token stored here is the revoked one. ``read`` then cannot look, and says so: it
reports the active version as unverified, which ``diff`` shows as drift and ``update`` (with the
current token) re-checks, writing to Coder only what really drifted.

The provider is pickled into state: it holds no client, logger or clock; each method builds its
``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import CoderApiError, CoderAuthError, CoderClient, Template
from coder_platform.coder_api.errors import CoderJobTimeoutError, CoderTemplateInUseError
from coder_platform.coder_api.models import TemplateVersion
from coder_platform.coder_api.templates import (
    LIFECYCLE_BY_NAME,
    TemplateMeta,
    live_lifecycle,
)
from coder_platform.contracts import PROJECT
from coder_platform.redaction import Redactor
from coder_platform.run_limits import TEMPLATE_IMPORT_DEADLINE_SECONDS
from coder_platform.template_archive import TemplateArchive, TemplateDirectoryError, build_archive
from components.providers.coder_template_checks import (
    LIFECYCLE_INPUT,
    RENAMING_INPUTS,
    REPLACING_INPUTS,
    SETTINGS_INPUTS,
    VERSIONING_INPUTS,
    lifecycle_of,
    settings_of,
    template_failures,
    variables_of,
)
from components.providers.common import (
    ClientFactory,
    TokenAuthenticatedProvider,
    current_token,
    declared_changes,
    gone,
    inputs_of,
    not_entitled_message,
    raise_on_failures,
    require_entitlements,
)

LOGGER_NAME = "coder_platform.coder_template"
DEFAULT_JOB_DEADLINE_SECONDS = float(TEMPLATE_IMPORT_DEADLINE_SECONDS)
DEFAULT_JOB_POLL_SECONDS = 1.0
LOG_LINES = 20
UNVERIFIED = ""  # active_version_id when the credentials in state could not read the template
# A create-only input (never compared): see CoderTemplateArgs.disable_everyone_group_access.
EVERYONE_AT_CREATE = "disable_everyone_group_access"


class TemplateImportError(RuntimeError):
    """A template version's import job failed or did not finish; the active version is
    unchanged. The message names the template and carries the job's last log lines, redacted."""


class TemplateInUseError(RuntimeError):
    """Coder refuses to delete a template that workspaces use; nothing was changed."""


class TemplateNotEntitledError(RuntimeError):
    """A declared Premium setting lacks its entitlement; nothing was changed."""


class TemplateRefusedError(RuntimeError):
    """Coder refused a change of the template (a rename to a taken name); nothing changed."""


class TemplateGoneError(RuntimeError):
    """The template disappeared between refresh and update."""


def version_marker(props: Mapping[str, Any]) -> str:
    """The version message that says which content and variables a version was built from."""
    variables = json.dumps(variables_of(props), sort_keys=True).encode()
    return (
        f"{PROJECT}: directory sha256:{props['directory_hash']}; "
        f"variables sha256:{hashlib.sha256(variables).hexdigest()}"
    )


@dataclass(frozen=True)
class CoderTemplateArgs:
    url: pulumi.Input[str]
    token: pulumi.Input[str]
    name: pulumi.Input[str]
    directory: pulumi.Input[str]  # repo-relative, e.g. templates/kubernetes-devcontainer
    source_root: pulumi.Input[str]  # absolute path of the checkout the provider host reads
    directory_hash: pulumi.Input[str]  # template_archive.directory_hash of the directory
    display_name: pulumi.Input[str] = ""
    description: pulumi.Input[str] = ""
    icon: pulumi.Input[str] = ""
    default_ttl_ms: pulumi.Input[int] = 0
    activity_bump_ms: pulumi.Input[int] = 3_600_000
    variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    organization: pulumi.Input[str] = "default"
    # Declared lifecycle and security settings by coderd's name (LIFECYCLE_SETTINGS); absent:
    # not managed, so state written before this input existed reads no change.
    lifecycle: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)
    # Sent only when the template is created (coderd's ``disable_everyone_group_access``): a
    # template whose declared access leaves Everyone out is never open to the organization.
    # Afterwards CoderTemplateAccess owns the ACL, so this is never compared.
    disable_everyone_group_access: pulumi.Input[bool] = False


class CoderTemplateProvider(TokenAuthenticatedProvider):
    """CRUD for one template; see the module docstring for the contract it keeps."""

    def __init__(
        self,
        client_factory: ClientFactory | None = None,
        job_deadline_seconds: float = DEFAULT_JOB_DEADLINE_SECONDS,
        job_poll_seconds: float = DEFAULT_JOB_POLL_SECONDS,
    ) -> None:
        super().__init__(client_factory)
        self._job_deadline_seconds = job_deadline_seconds
        self._job_poll_seconds = job_poll_seconds

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, template_failures(news))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        """Build the version, then create the template; a live template with the name is
        adopted (its active version kept when it already runs this content)."""
        props = inputs_of(props)
        raise_on_failures("CoderTemplate", template_failures(props))
        archive = _archive(props)
        organization, name = props["organization"], props["name"]
        with self._client(props) as client:
            template = client.get_template_by_name(organization, name)
            if template is None:
                _require_entitlements(client, name, lifecycle_of(props))
                version_id = self._build(client, props, archive, template_id=None).id
                template = client.create_template(
                    organization,
                    name,
                    version_id,
                    settings_of(props),
                    disable_everyone_group_access=props.get(EVERYONE_AT_CREATE) is True,
                )
                logging.getLogger(LOGGER_NAME).info("created template %s", name)
                self._apply_settings(client, template, props)
            else:
                logging.getLogger(LOGGER_NAME).info("adopting existing template %s", name)
                version_id = self._ensure_version(client, props, template, lambda: archive)
                self._apply_settings(client, template, props)
        return dyn.CreateResult(template.id, _outs(props, template, version_id))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: one GET /templates/{id}. Gone (404, e.g. after a reset or a hand delete)
        drops it from state; otherwise the live settings and active version are reported."""
        props = inputs_of(props)
        log = logging.getLogger(LOGGER_NAME)
        with self._client(props) as client:
            try:
                template = client.get_template(id_)
            except CoderAuthError:
                fresh = current_token(props.get("token"))
                if fresh is not None:
                    # The runner's current token; it is stored, so later reads use it first.
                    client.authenticate(fresh)
                    return _read_result(id_, {**props, "token": fresh}, client.get_template(id_))
                log.warning(
                    "template %s: the token in state was refused (rotated or revoked); it is "
                    "re-checked with the current token on the next update",
                    props.get("name"),
                )
                return dyn.ReadResult(id_, {**props, "active_version_id": UNVERIFIED})
        return _read_result(id_, props, template)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """Only declared properties count: organization or url replace; content or variables
        update with a new version; the name and settings update in place; an active version
        that is not ours (seen by ``read``) is drift. No API call."""
        olds, news = inputs_of(olds), inputs_of(news)
        olds = {**olds, "variables": variables_of(olds), LIFECYCLE_INPUT: lifecycle_of(olds)}
        news = {**news, "variables": variables_of(news), LIFECYCLE_INPUT: lifecycle_of(news)}
        replaces = declared_changes(olds, news, REPLACING_INPUTS)
        updates = declared_changes(
            olds,
            news,
            (*RENAMING_INPUTS, *VERSIONING_INPUTS, *SETTINGS_INPUTS, LIFECYCLE_INPUT),
        )
        if olds.get("active_version_id") != olds.get("version_id"):
            updates.append("active_version_id")
        return dyn.DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """A new version only when the content hash or the variables changed; an active version
        that is not ours is taken back (ours re-activated, or rebuilt if it is gone); the name
        and settings are patched only where the live template differs (a rename is in place,
        so the template keeps its id, versions and workspaces)."""
        olds, news = inputs_of(olds), inputs_of(news)
        raise_on_failures("CoderTemplate", template_failures(news))
        content_changed = declared_changes(
            {**olds, "variables": variables_of(olds)},
            {**news, "variables": variables_of(news)},
            VERSIONING_INPUTS,
        )
        with self._client(news) as client:
            template = client.get_template(id_)
            if template is None:
                raise TemplateGoneError(
                    f"template {news['name']!r} was deleted from Coder after the last refresh: "
                    "run again with refresh (reconcile does) so it is created again"
                )
            ours = olds.get("version_id")
            if content_changed or not isinstance(ours, str):
                version_id = self._ensure_version(client, news, template, lambda: _archive(news))
            elif template.active_version_id != ours:
                version_id = self._take_back(client, news, template, ours)
            else:
                version_id = ours
            self._apply_settings(client, template, news)
        return dyn.UpdateResult(_outs(news, template, version_id))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the template, or fail clearly while workspaces use it (nothing is changed).
        Already gone is success (C2)."""
        props = inputs_of(props)
        name = props["name"]
        with self._client(props) as client:
            try:
                deleted = client.delete_template(id_, name)
            except CoderTemplateInUseError as error:
                count = error.workspace_count
                used_by = f"{count} workspace(s)" if count is not None else "workspaces"
                raise TemplateInUseError(
                    f"template {name!r} cannot be deleted: {used_by} still use it, and Coder "
                    "deletes a template only when none does; delete or move those workspaces "
                    "first, or keep the template (retain_on_delete). Nothing was changed."
                ) from None
        log = logging.getLogger(LOGGER_NAME)
        log.info("deleted template %s" if deleted else "template %s was already gone", name)

    # -- versions -------------------------------------------------------------------------------

    def _ensure_version(
        self,
        client: CoderClient,
        props: Mapping[str, Any],
        template: Template,
        archive: Callable[[], TemplateArchive],
    ) -> str:
        """The template's active version when it already runs this content; else a new one,
        built and then activated (a failed build leaves the active version in place)."""
        active = client.get_template_version(template.active_version_id)
        if active is not None and _is_ours(active, props):
            return active.id
        version = self._build(client, props, archive(), template_id=template.id)
        client.activate_version(template.id, version.id)
        logging.getLogger(LOGGER_NAME).info(
            "template %s: version %s is active", props["name"], version.name
        )
        return version.id

    def _take_back(
        self, client: CoderClient, props: Mapping[str, Any], template: Template, ours: str
    ) -> str:
        """Re-activate our version after a hand push; rebuild it if it no longer exists."""
        version = client.get_template_version(ours)
        if version is None or version.template_id != template.id or not _is_ours(version, props):
            return self._ensure_version(client, props, template, lambda: _archive(props))
        client.activate_version(template.id, ours)
        logging.getLogger(LOGGER_NAME).info("template %s: re-activated %s", props["name"], ours)
        return ours

    def _build(
        self,
        client: CoderClient,
        props: Mapping[str, Any],
        archive: TemplateArchive,
        template_id: str | None,
    ) -> TemplateVersion:
        """Upload, create the version, wait for its import job; fail with its last log lines."""
        file_id = client.upload_file(archive.data)
        version = client.create_template_version(
            props["organization"],
            file_id,
            template_id=template_id,
            message=version_marker(props),
            variables=variables_of(props),
        )
        try:
            done = client.wait_for_version_job(
                version.id, self._job_deadline_seconds, self._job_poll_seconds
            )
        except CoderJobTimeoutError as error:
            raise self._import_error(client, props, version.id, error.message) from None
        if done.job is None or not done.job.succeeded:
            status = done.job.status if done.job else "unknown"
            error_text = done.job.error if done.job else ""
            reason = f"the import job {status}" + (f": {error_text}" if error_text else "")
            raise self._import_error(client, props, version.id, reason)
        return done

    def _import_error(
        self, client: CoderClient, props: Mapping[str, Any], version_id: str, reason: str
    ) -> TemplateImportError:
        try:
            outputs = [log.output for log in client.template_version_logs(version_id, LOG_LINES)]
        except CoderApiError as error:
            outputs = [f"(the log could not be read: {error})"]
        lines = "\n".join(f"  | {output}" for output in outputs) or "  | (no log lines)"
        text = (
            f"template {props['name']!r}: {reason}; the active version is unchanged. "
            f"Last {len(outputs)} log line(s) of the import:\n{lines}\n"
            f"Fix the template under {props['directory']} (or its variables) and run again."
        )
        return TemplateImportError(Redactor([props.get("token")])(text))

    def _apply_settings(
        self, client: CoderClient, template: Template, props: Mapping[str, Any]
    ) -> None:
        """PATCH only when the live name or settings differ (Coder answers 304 to a no-op
        patch). A name another template holds is refused by Coder; the error names both."""
        wanted, name = settings_of(props), props["name"]
        renamed = template.name != name
        declared = lifecycle_of(props)
        lifecycle = {k: v for k, v in declared.items() if getattr(template, k) != v}
        if TemplateMeta.of(template) == wanted and not renamed and not lifecycle:
            return
        _require_entitlements(client, name, lifecycle)
        try:
            client.update_template_settings(
                template.id, wanted, name=name if renamed else None, lifecycle=declared
            )
        except CoderApiError as error:
            if not renamed or error.status not in (400, 409):
                raise
            raise TemplateRefusedError(
                f"template {template.name!r} cannot be renamed to {name!r}: {error.message}. "
                "Another template may hold that name: rename or delete it in Coder, or keep "
                "the old name in seeding.templates.<dir>.name. Nothing was changed."
            ) from None
        log = logging.getLogger(LOGGER_NAME)
        if renamed:
            log.info("template %s: renamed in place from %s", name, template.name)
        if lifecycle:
            log.info("template %s: lifecycle settings set: %s", name, ", ".join(sorted(lifecycle)))
        if not renamed and not lifecycle:
            log.info("template %s: settings updated", name)


def _require_entitlements(client: CoderClient, name: str, lifecycle: Mapping[str, Any]) -> None:
    """Premium lifecycle settings need their feature, asked of /entitlements before any write:
    without it coderd ignores the value (its AGPL stores), so it would never converge."""
    features = [feature for key in lifecycle if (feature := LIFECYCLE_BY_NAME[key].feature)]

    def refused(feature: str) -> TemplateNotEntitledError:
        settings = sorted(k for k in lifecycle if LIFECYCLE_BY_NAME[k].feature == feature)
        return TemplateNotEntitledError(
            not_entitled_message(
                f"template {name!r}",
                f"{', '.join(settings)} need(s)",
                feature,
                "remove the setting from seeding.templates.<dir> (Coder would ignore the value)",
            )
        )

    require_entitlements(client, features, refused)


def _archive(props: Mapping[str, Any]) -> TemplateArchive:
    """The directory's archive, refused if its content is not what the program hashed."""
    directory = Path(props["source_root"]) / props["directory"]
    archive = build_archive(directory)
    if archive.content_hash != props["directory_hash"]:
        raise TemplateDirectoryError(
            f"template {props['name']!r}: the directory {props['directory']} changed after the "
            "program hashed it (its content hash differs): run again so the plan and the "
            "upload agree"
        )
    return archive


def _is_ours(version: TemplateVersion, props: Mapping[str, Any]) -> bool:
    """Built from this content and these variables, successfully, and still usable."""
    job_ok = version.job is not None and version.job.succeeded
    return version.message == version_marker(props) and job_ok and not version.archived


def _outs(props: Mapping[str, Any], template: Template, version_id: str) -> dict[str, Any]:
    return {
        **props,
        "template_id": template.id,
        "version_id": version_id,
        "active_version_id": version_id,
        "organization_id": template.organization_id,
    }


class CoderTemplate(dyn.Resource, module="coder", name="CoderTemplate"):
    """Type token ``pulumi-python:dynamic/coder:CoderTemplate``; outputs ``template_id``,
    ``version_id`` (the version this resource built), ``active_version_id`` (what Coder runs)
    and ``organization_id``. The token is kept secret."""

    template_id: pulumi.Output[str]
    version_id: pulumi.Output[str]
    active_version_id: pulumi.Output[str]
    organization_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderTemplateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "token": pulumi.Output.secret(args.token),
            "organization": args.organization,
            "name": args.name,
            "display_name": args.display_name,
            "description": args.description,
            "icon": args.icon,
            "default_ttl_ms": args.default_ttl_ms,
            "activity_bump_ms": args.activity_bump_ms,
            "variables": dict(args.variables),
            "lifecycle": dict(args.lifecycle),
            EVERYONE_AT_CREATE: args.disable_everyone_group_access,
            "directory": args.directory,
            "source_root": args.source_root,
            "directory_hash": args.directory_hash,
            "template_id": None,
            "version_id": None,
            "active_version_id": None,
            "organization_id": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        super().__init__(
            CoderTemplateProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )


def _read_result(id_: str, props: dict[str, Any], template: Template | None) -> dyn.ReadResult:
    """What ``read`` reports: gone, or the live settings and active version."""
    log = logging.getLogger(LOGGER_NAME)
    if template is None:
        log.warning("template %s is gone from Coder; it will be created again", props["name"])
        return gone()
    if template.active_version_id != props.get("version_id"):
        log.warning("template %s: another version is active (pushed by hand?)", props["name"])
    live = TemplateMeta.of(template)
    outs = {
        **props,
        "name": template.name,
        "display_name": live.display_name,
        "description": live.description,
        "icon": live.icon,
        "default_ttl_ms": live.default_ttl_ms,
        "activity_bump_ms": live.activity_bump_ms,
        LIFECYCLE_INPUT: live_lifecycle(template, lifecycle_of(props)),
        "active_version_id": template.active_version_id,
        "organization_id": template.organization_id,
    }
    return dyn.ReadResult(id_, outs)
