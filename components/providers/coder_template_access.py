"""CoderTemplateAccess: who may use or administer one template, shaped like the ``acl`` of
coderd's ``coderd_template`` (groups and users, each ``use`` or ``admin``), with whether the
organization's Everyone group keeps ``use``.

Why it exists: a template is open to the whole organization by default (coderd grants the
Everyone group ``use`` on every new template), and a hand edit of its ACL is drift a Coder
database reset would also lose. Groups and users are named as the stack names them and resolved
to Coder's ids at each write; the Everyone group is the one whose id is the organization's.

Facts from Coder 2.36 (``enterprise/coderd/templates.go``): ``GET /templates/{id}/acl`` lists
the entries with their role; ``PATCH /templates/{id}/acl`` sets the entries it names (``""``
removes one) and leaves the others. Both need the Premium ``template_rbac`` feature: ``create``
and ``update`` read ``GET /entitlements`` first and, without it, stop naming the config keys,
having written nothing. Whether Everyone keeps access is also sent when the template is created
(``disable_everyone_group_access``, by ``CoderTemplate``), so a template meant to be closed is
never open, not even between two resources' creates.

Contract clauses served: C1 (``check`` names each bad field; an unknown group or user is named
before any write), C2 (``read`` is one GET and ``diff`` calls nothing, so a converged run makes
zero writes; the token never counts as a change), C3 (an entry added, changed or removed by hand
shows as drift and ``update`` takes it back in one PATCH; a template gone after a reset is gone
here too, and both come back in the same run). ``delete`` writes nothing: access no longer
declared is no longer managed, and Coder keeps the ACL as it is (coderd's ``acl`` unset).

The provider is pickled into state: it holds no client, logger or clock; each method builds its
``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import CoderClient, CoderNotEntitledError
from coder_platform.coder_api.access import REMOVED_ROLE, TEMPLATE_ROLES
from coder_platform.coder_api.models import TemplateAcl
from coder_platform.contracts import PROJECT, TEMPLATE_ACCESS_FEATURE
from components.providers.common import (
    UNVERIFIED,
    USERNAME_MAX,
    USERNAME_PATTERN,
    TokenAuthenticatedProvider,
    connection_failures,
    declared_changes,
    gone,
    inputs_of,
    is_known,
    not_entitled_message,
    raise_on_failures,
    read_with_current_token,
    require_entitlements,
)

LOGGER_NAME = "coder_platform.coder_template_access"
ACCESS_KEY = f"{PROJECT}:seeding.templates.<dir>.access"
# Whether the Everyone group keeps ``use`` (coderd's default) or has no access at all.
EVERYONE_CHOICES = ("use", "none")
NAME_MAX = 32
# Another template is another ACL.
REPLACING_INPUTS = ("template_id",)
# Set in place (PATCH /templates/{id}/acl); ``url`` alone, or the template's name after an
# in-place rename, is recorded without a Coder write (the policy coder-template-access matches
# a template to its access by that name, so the stored one must follow the template's).
UPDATING_INPUTS = ("url", "template", "groups", "users", "everyone")
# Never compared: the token (a rotation is not a change) and the organization's id (where the
# Everyone group is found).


class TemplateAccessNotEntitledError(RuntimeError):
    """The deployment's licenses do not grant template ACLs; nothing was written to Coder."""


class TemplateAccessUnknownError(RuntimeError):
    """A declared group or user does not exist in Coder; nothing was written to Coder."""


class TemplateAccessGoneError(RuntimeError):
    """The template disappeared between refresh and update."""


@dataclass(frozen=True)
class CoderTemplateAccessArgs:
    url: pulumi.Input[str]
    token: pulumi.Input[str]
    template: pulumi.Input[str]  # the template's name (messages, and the policy's match)
    template_id: pulumi.Input[str]
    organization_id: pulumi.Input[str]  # the Everyone group's id
    groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # name -> use/admin
    users: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # username -> use/admin
    everyone: pulumi.Input[str] = "use"
    organization: pulumi.Input[str] = "default"


def roles_of(value: Any) -> dict[str, str] | Any:
    """A name -> role map as a plain dict (absent means none); an unknown passes through."""
    if isinstance(value, Mapping):
        return {str(name): role for name, role in value.items()}
    return {} if value is None else value


def comparable(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "url": props.get("url"),
        "template": props.get("template"),
        "template_id": props.get("template_id"),
        "groups": roles_of(props.get("groups")),
        "users": roles_of(props.get("users")),
        "everyone": props.get("everyone") or "use",
    }


def access_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    """C1: every input's rule; unknowns pass until known. Messages never carry a value."""
    failures = connection_failures(props)

    def require(name: str, ok: Any, reason: str) -> None:
        if is_known(props.get(name)) and not ok(props.get(name)):
            failures.append(dyn.CheckFailure(name, f"{name}: {reason}"))

    def entries_ok(value: Any) -> bool:
        if value is None:
            return True
        if not isinstance(value, Mapping):
            return False
        return all(
            isinstance(name, str)
            and len(name) <= max(NAME_MAX, USERNAME_MAX)
            and bool(USERNAME_PATTERN.fullmatch(name))
            and (role in TEMPLATE_ROLES or not is_known(role))
            for name, role in value.items()
        )

    roles = " or ".join(TEMPLATE_ROLES)
    require("template", lambda v: isinstance(v, str) and bool(v), "must name the template")
    require(
        "template_id",
        lambda v: isinstance(v, str) and bool(v),
        "must be the template's Coder id (CoderTemplate.template_id)",
    )
    require("groups", entries_ok, f"must map Coder group names to {roles}")
    require("users", entries_ok, f"must map Coder usernames to {roles}")
    require(
        "everyone",
        lambda v: v in EVERYONE_CHOICES,
        "must be use (the organization's Everyone group may use the template) or none",
    )
    return failures


def live_access(acl: TemplateAcl) -> dict[str, Any]:
    """The ACL as the stack declares it: groups and users by name, and Everyone's role."""
    everyone = next((g.role for g in acl.groups if g.is_everyone), "none")
    return {
        "groups": {g.name: g.role for g in acl.groups if not g.is_everyone},
        "users": {u.username: u.role for u in acl.users},
        "everyone": everyone or "none",
    }


class CoderTemplateAccessProvider(TokenAuthenticatedProvider):
    """Converges one template's ACL; see the module docstring for the contract it keeps."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, access_failures(inputs_of(news)))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        """Entitlement first, then every declared name resolved, then one PATCH of what differs
        (none when the template was created with this access already)."""
        props = inputs_of(props)
        raise_on_failures("CoderTemplateAccess", access_failures(props))
        template_id = props["template_id"]
        with self._client(props) as client:
            _converge(client, template_id, props)
        return dyn.CreateResult(template_id, _outs(props))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: one GET /templates/{id}/acl. Gone when the template is (a reset or a
        hand delete) or the license no longer grants ACLs (re-added in the same run, this is
        created again); otherwise the live entries."""
        props = inputs_of(props)
        log = logging.getLogger(LOGGER_NAME)
        name = props.get("template")
        with self._client(props) as client:
            try:
                found = read_with_current_token(client, props, lambda c: c.get_template_acl(id_))
            except CoderNotEntitledError:
                log.warning(
                    "template %s: Coder no longer grants template ACLs (license removed?); its "
                    "access is reported gone",
                    name,
                )
                return gone()
        if found is None:
            log.warning(
                "template %s access: the token in state was refused (rotated or revoked); it "
                "is re-checked with the current token on the next update",
                name,
            )
            return dyn.ReadResult(id_, {**props, UNVERIFIED: True})
        acl, props = found
        if acl is None:
            log.warning("template %s is gone from Coder; its access goes with it", name)
            return gone()
        return dyn.ReadResult(id_, {**props, **live_access(acl), UNVERIFIED: False})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """Only declared properties count (never the token); another template replaces.
        No API call."""
        olds, news = inputs_of(olds), inputs_of(news)
        old, new = comparable(olds), comparable(news)
        replaces = declared_changes(old, new, REPLACING_INPUTS)
        updates = declared_changes(old, new, UPDATING_INPUTS)
        if olds.get(UNVERIFIED):
            updates.append(UNVERIFIED)
        return dyn.DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """Entitlement first, then one PATCH with whatever differs from the live ACL."""
        news = inputs_of(news)
        raise_on_failures("CoderTemplateAccess", access_failures(news))
        with self._client(news) as client:
            _converge(client, id_, news)
        return dyn.UpdateResult(_outs(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Writes nothing: the ACL is no longer managed and stays as it is in Coder (with the
        template, when that is deleted too, it goes)."""
        logging.getLogger(LOGGER_NAME).info(
            "template %s: access no longer managed; Coder keeps its ACL as it is",
            inputs_of(props).get("template"),
        )


def _not_entitled(name: str) -> TemplateAccessNotEntitledError:
    return TemplateAccessNotEntitledError(
        not_entitled_message(
            f"template {name!r}",
            "Coder cannot manage template access without",
            TEMPLATE_ACCESS_FEATURE,
            f"remove the access ({ACCESS_KEY})",
        )
    )


def _converge(client: CoderClient, template_id: str, props: Mapping[str, Any]) -> None:
    """One PATCH with the entries that differ from the declared access; none when none do.
    Every name is resolved before the write, so an unknown one changes nothing."""
    name = str(props.get("template"))
    require_entitlements(client, [TEMPLATE_ACCESS_FEATURE], lambda _: _not_entitled(name))
    try:
        acl = client.get_template_acl(template_id)
    except CoderNotEntitledError:
        raise _not_entitled(name) from None
    if acl is None:
        raise TemplateAccessGoneError(
            f"template {name!r} was deleted from Coder after the last refresh: run again with "
            "refresh (reconcile does) so it is created again with its access"
        )
    group_perms = _group_changes(client, name, acl, props)
    user_perms = _user_changes(client, name, acl, props)
    if not (group_perms or user_perms):
        return
    client.update_template_acl(template_id, user_perms=user_perms, group_perms=group_perms)
    logging.getLogger(LOGGER_NAME).info(
        "template %s: access set (%d group and %d user entries changed)",
        name,
        len(group_perms),
        len(user_perms),
    )


def _group_changes(
    client: CoderClient, template: str, acl: TemplateAcl, props: Mapping[str, Any]
) -> dict[str, str]:
    wanted: dict[str, str] = roles_of(props.get("groups"))
    live = {g.name: g for g in acl.groups if not g.is_everyone}
    changes = {live[n].id: REMOVED_ROLE for n in live if n not in wanted}
    missing: list[str] = []
    for group_name, role in sorted(wanted.items()):
        entry = live.get(group_name)
        if entry is not None:
            if entry.role != role:
                changes[entry.id] = role
            continue
        group = client.get_group_by_name(props.get("organization") or "default", group_name)
        if group is None:
            missing.append(group_name)
        else:
            changes[group.id] = role
    if missing:
        raise _unknown(template, "group", missing, "seeding.groups")
    everyone = next((g for g in acl.groups if g.is_everyone), None)
    wanted_everyone = props.get("everyone") or "use"
    if wanted_everyone == "none" and everyone is not None:
        changes[everyone.id] = REMOVED_ROLE
    elif wanted_everyone != "none" and (everyone is None or everyone.role != wanted_everyone):
        changes[str(props["organization_id"])] = wanted_everyone
    return changes


def _user_changes(
    client: CoderClient, template: str, acl: TemplateAcl, props: Mapping[str, Any]
) -> dict[str, str]:
    wanted: dict[str, str] = roles_of(props.get("users"))
    live = {u.username: u for u in acl.users}
    changes = {live[n].id: REMOVED_ROLE for n in live if n not in wanted}
    missing: list[str] = []
    for username, role in sorted(wanted.items()):
        entry = live.get(username)
        if entry is not None:
            if entry.role != role:
                changes[entry.id] = role
            continue
        user = client.get_user(username)
        if user is None:
            missing.append(username)
        else:
            changes[user.id] = role
    if missing:
        raise _unknown(template, "user", missing, "seeding.users")
    return changes


def _unknown(template: str, kind: str, names: list[str], key: str) -> TemplateAccessUnknownError:
    return TemplateAccessUnknownError(
        f"template {template!r}: no Coder {kind} named {', '.join(map(repr, names))}; declare "
        f"it in the stack ({PROJECT}:{key}: they are created before templates) or remove it "
        f"from {ACCESS_KEY}. Nothing was changed."
    )


def _outs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The declared inputs: after a converge, Coder holds exactly these."""
    return {
        **props,
        "groups": roles_of(props.get("groups")),
        "users": roles_of(props.get("users")),
        "everyone": props.get("everyone") or "use",
        UNVERIFIED: False,
    }


class CoderTemplateAccess(dyn.Resource, module="coder", name="CoderTemplateAccess"):
    """Type token ``pulumi-python:dynamic/coder:CoderTemplateAccess``; its id is the template's.
    The token is kept secret."""

    def __init__(
        self, name: str, args: CoderTemplateAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "token": pulumi.Output.secret(args.token),
            "organization": args.organization,
            "template": args.template,
            "template_id": args.template_id,
            "organization_id": args.organization_id,
            "groups": dict(args.groups),
            "users": dict(args.users),
            "everyone": args.everyone,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        super().__init__(
            CoderTemplateAccessProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
