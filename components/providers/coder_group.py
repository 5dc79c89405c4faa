"""CoderGroup: a Coder group this stack owns, shaped like coderd's ``coderd_group`` (``name``,
``display_name``, ``members``, ``quota_allowance``, ``organization``), with members named by
username and resolved to Coder's user ids at each write.

Why it exists: a Coder database reset loses every group, and a hand edit of members or quota is
drift. Groups are a Premium feature: every group route answers 403 "Template RBAC is a Premium
feature. Contact sales!" without the ``template_rbac`` entitlement. So before any group write,
``create`` and ``update`` read ``GET /entitlements`` and, without the entitlement, stop with an
error that names the config keys to change, having written nothing (never a half-applied set).

Contract clauses served: C1 (``check`` names each bad field; an unknown member is named before
any write), C2 (``read`` is one GET and ``diff`` calls nothing, so a converged run makes zero
writes; the token never counts as a change; an existing group with the name is adopted), C3
(gone after a reset or a hand delete; live members and settings are reported, so drift shows
and ``update`` takes it back in one PATCH).

The provider is pickled into state: it holds no client, logger or clock; each method builds its
``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import (
    CoderClient,
    CoderConflictError,
    CoderNotEntitledError,
    Group,
)
from coder_platform.contracts import GROUPS_FEATURE, PROJECT
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
    whole_number,
)

LOGGER_NAME = "coder_platform.coder_group"
GROUPS_KEY = f"{PROJECT}:seeding.groups"
NAME_MAX = 32
DISPLAY_NAME_MAX = 64
# A group in another organization is another group.
REPLACING_INPUTS = ("organization",)
# Patched in place (PATCH /groups/{id}); ``url`` alone is recorded without a Coder write.
UPDATING_INPUTS = ("url", "name", "display_name", "members", "quota_allowance")
# Never compared: the token (a rotation is not a change).


class GroupsNotEntitledError(RuntimeError):
    """The deployment's licenses do not grant groups; nothing was written to Coder."""


class GroupMemberUnknownError(RuntimeError):
    """A declared member has no Coder user; nothing was written to Coder."""


class GroupGoneError(RuntimeError):
    """The group disappeared between refresh and update."""


@dataclass(frozen=True)
class CoderGroupArgs:
    url: pulumi.Input[str]
    token: pulumi.Input[str]
    name: pulumi.Input[str]
    display_name: pulumi.Input[str] = ""
    members: Sequence[pulumi.Input[str]] = ()  # usernames
    quota_allowance: pulumi.Input[int] = 0
    organization: pulumi.Input[str] = "default"


def members_of(value: Any) -> list[str] | Any:
    """Members as a sorted list of usernames (a set in Coder); an unknown passes through."""
    if isinstance(value, list | tuple):
        return sorted(str(member) for member in value)
    return [] if value is None else value


def comparable(props: Mapping[str, Any]) -> dict[str, Any]:
    quota = props.get("quota_allowance")
    return {
        "url": props.get("url"),
        "organization": props.get("organization") or "default",
        "name": props.get("name"),
        "display_name": props.get("display_name") or "",
        "members": members_of(props.get("members")),
        "quota_allowance": whole_number(quota) if is_known(quota) else quota,
    }


def group_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    """C1: every input's rule (Coder's group and user name rules); unknowns pass until known."""
    failures = connection_failures(props)

    def require(field: str, ok: Any, reason: str) -> None:
        if is_known(props.get(field)) and not ok(props.get(field)):
            failures.append(dyn.CheckFailure(field, f"{field}: {reason}"))

    def name_ok(value: Any, limit: int) -> bool:
        return (
            isinstance(value, str)
            and len(value) <= limit
            and bool(USERNAME_PATTERN.fullmatch(value))
        )

    def members_ok(value: Any) -> bool:
        if not isinstance(value, list | tuple):
            return False
        known = [member for member in value if is_known(member)]
        names_ok = all(name_ok(member, USERNAME_MAX) for member in known)
        return names_ok and len(set(known)) == len(known)

    require(
        "organization",
        lambda v: isinstance(v, str) and bool(v),
        "must name a Coder organization (default: default)",
    )
    require(
        "name",
        lambda v: name_ok(v, NAME_MAX),
        f"must be 1-{NAME_MAX} letters, digits or inner hyphens",
    )
    require(
        "display_name",
        lambda v: isinstance(v, str) and len(v) <= DISPLAY_NAME_MAX,
        f"must be at most {DISPLAY_NAME_MAX} characters",
    )
    require("members", members_ok, "must be distinct Coder usernames")
    require(
        "quota_allowance",
        lambda v: (whole_number(v) or 0) >= 0 and whole_number(v) is not None,
        "must be a whole number of workspace quota credits, 0 or more",
    )
    return failures


class CoderGroupProvider(TokenAuthenticatedProvider):
    """CRUD for one group; see the module docstring for the contract it keeps."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, group_failures(inputs_of(news)))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        """Entitlement first, then members resolved, then the group; an existing group with
        the name is adopted and converged."""
        props = inputs_of(props)
        raise_on_failures("CoderGroup", group_failures(props))
        organization, name = props["organization"], props["name"]
        log = logging.getLogger(LOGGER_NAME)
        with self._client(props) as client:
            _require_entitlement(client, name)
            member_ids = _resolve(client, name, members_of(props.get("members")))
            try:
                group = client.create_group(
                    organization,
                    name,
                    display_name=props.get("display_name") or "",
                    quota_allowance=whole_number(props.get("quota_allowance")) or 0,
                )
                log.info("created Coder group %s", name)
            except CoderConflictError:
                found = client.get_group_by_name(organization, name)
                if found is None:
                    raise
                log.info("adopting existing Coder group %s", name)
                group = found
            group = _converge(client, group, props, member_ids)
        return dyn.CreateResult(group.id, _outs(props, group))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: one GET /groups/{id}. Gone on 404 (a reset or a hand delete), or when
        the license no longer grants groups (re-added in the same run, the group is adopted);
        otherwise the live members (usernames) and settings."""
        props = inputs_of(props)
        log = logging.getLogger(LOGGER_NAME)
        name = props.get("name")
        with self._client(props) as client:
            try:
                found = read_with_current_token(client, props, lambda c: c.get_group(id_))
            except CoderNotEntitledError:
                log.warning(
                    "group %s: Coder no longer grants groups (license removed?); reported gone",
                    name,
                )
                return gone()
        if found is None:
            log.warning(
                "group %s: the token in state was refused (rotated or revoked); it is "
                "re-checked with the current token on the next update",
                name,
            )
            return dyn.ReadResult(id_, {**props, UNVERIFIED: True})
        group, props = found
        if group is None:
            log.warning("group %s is gone from Coder; it will be created again", name)
            return gone()
        return dyn.ReadResult(id_, _outs(props, group))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """Only declared properties count (never the token); another organization replaces.
        No API call."""
        olds, news = inputs_of(olds), inputs_of(news)
        old, new = comparable(olds), comparable(news)
        replaces = declared_changes(old, new, REPLACING_INPUTS)
        updates = declared_changes(old, new, UPDATING_INPUTS)
        if olds.get(UNVERIFIED):
            updates.append(UNVERIFIED)
        return dyn.DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """Entitlement first, then one PATCH with whatever differs from the live group."""
        news = inputs_of(news)
        raise_on_failures("CoderGroup", group_failures(news))
        name = news["name"]
        with self._client(news) as client:
            _require_entitlement(client, name)
            group = client.get_group(id_)
            if group is None:
                raise GroupGoneError(
                    f"group {name!r} was deleted from Coder after the last refresh: run again "
                    "with refresh (reconcile does) so it is created again"
                )
            known = {member.username: member.id for member in group.members}
            wanted = members_of(news.get("members"))
            member_ids = {**known, **_resolve(client, name, [u for u in wanted if u not in known])}
            group = _converge(client, group, news, member_ids)
        return dyn.UpdateResult(_outs(news, group))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the group (its members' accounts stay). Already gone is success (C2)."""
        props = inputs_of(props)
        name = props.get("name")
        with self._client(props) as client:
            try:
                deleted = client.delete_group(id_)
            except CoderNotEntitledError:
                raise GroupsNotEntitledError(_not_entitled_message(str(name), "delete")) from None
        log = logging.getLogger(LOGGER_NAME)
        log.info("deleted group %s" if deleted else "group %s was already gone", name)


def _not_entitled_message(name: str, action: str) -> str:
    return not_entitled_message(
        f"group {name!r}",
        f"Coder cannot {action} groups without",
        GROUPS_FEATURE,
        f"remove the groups ({GROUPS_KEY})",
    )


def _require_entitlement(client: CoderClient, name: str) -> None:
    require_entitlements(
        client,
        [GROUPS_FEATURE],
        lambda _: GroupsNotEntitledError(_not_entitled_message(name, "manage")),
    )


def _resolve(client: CoderClient, group: str, usernames: Sequence[str]) -> dict[str, str]:
    """Usernames to Coder user ids; every unknown one is named, before any write."""
    ids: dict[str, str] = {}
    unknown: list[str] = []
    for username in usernames:
        user = client.get_user(username)
        if user is None:
            unknown.append(username)
        else:
            ids[username] = user.id
    if unknown:
        raise GroupMemberUnknownError(
            f"group {group!r}: no Coder user named {', '.join(map(repr, unknown))}; declare "
            f"the user(s) in the stack (they are created before groups) or remove them from "
            f"the members of {group!r} ({GROUPS_KEY}). Nothing was changed."
        )
    return ids


def _converge(
    client: CoderClient, group: Group, props: Mapping[str, Any], member_ids: dict[str, str]
) -> Group:
    """One PATCH with the settings and member changes that differ; none when nothing does."""
    wanted = set(members_of(props.get("members")))
    live = {member.username: member.id for member in group.members}
    add = sorted(member_ids[u] for u in wanted - set(live))
    remove = sorted(live[u] for u in set(live) - wanted)
    name = props["name"]
    display_name = props.get("display_name") or ""
    quota = whole_number(props.get("quota_allowance")) or 0
    new_name = name if group.name != name else None
    new_display = display_name if group.display_name != display_name else None
    new_quota = quota if group.quota_allowance != quota else None
    changed = [
        key
        for key, value in (
            ("name", new_name),
            ("display_name", new_display),
            ("quota_allowance", new_quota),
        )
        if value is not None
    ]
    if not (add or remove or changed):
        return group
    logging.getLogger(LOGGER_NAME).info(
        "group %s: %d member(s) added, %d removed, settings %s",
        name,
        len(add),
        len(remove),
        ", ".join(changed) or "unchanged",
    )
    return client.update_group(
        group.id,
        name=new_name,
        display_name=new_display,
        quota_allowance=new_quota,
        add_users=add,
        remove_users=remove,
    )


def _outs(props: Mapping[str, Any], group: Group) -> dict[str, Any]:
    """The declared inputs with Coder's live view of the compared ones, and the group's ids."""
    return {
        **props,
        "group_id": group.id,
        "organization_id": group.organization_id,
        "name": group.name,
        "display_name": group.display_name,
        "members": group.member_usernames,
        "quota_allowance": group.quota_allowance,
        UNVERIFIED: False,
    }


class CoderGroup(dyn.Resource, module="coder", name="CoderGroup"):
    """Type token ``pulumi-python:dynamic/coder:CoderGroup``; outputs ``group_id`` and
    ``organization_id``. The token is kept secret."""

    group_id: pulumi.Output[str]
    organization_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "token": pulumi.Output.secret(args.token),
            "organization": args.organization,
            "name": args.name,
            "display_name": args.display_name,
            "members": list(args.members),
            "quota_allowance": args.quota_allowance,
            "group_id": None,
            "organization_id": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        super().__init__(
            CoderGroupProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
