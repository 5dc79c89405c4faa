"""CoderEveryoneGroup: the workspace quota of an organization's Everyone group
(``seeding.everyoneQuotaAllowance``), the one setting of that group a stack may own.

Why it exists: Coder makes the Everyone group itself (its id is the organization's; every member
of the organization is in it) and lets an admin change only its ``quota_allowance``: renaming it,
changing its members or deleting it is refused (``enterprise/coderd/groups.go``, Coder 2.36). A
database reset sets the quota back to 0 and a hand edit is drift, so the stack owns the number.
Groups are Premium (``template_rbac``): ``create`` and ``update`` read ``GET /entitlements``
first and, without it, stop naming the config keys, having written nothing.

Contract clauses served: C1 (``check`` names each bad field), C2 (``read`` is one GET and
``diff`` calls nothing, so a converged run makes zero writes; the token never counts as a
change), C3 (a quota changed by hand, or lost with a reset, is set again in one PATCH).
``delete`` writes nothing: the group is Coder's, and a quota no longer declared is no longer
managed.

The provider is pickled into state: it holds no client, logger or clock; each method builds its
``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import CoderClient, CoderNotEntitledError, Group
from coder_platform.coder_api.access import EVERYONE_GROUP
from coder_platform.contracts import GROUPS_FEATURE, PROJECT
from components.providers.common import (
    UNVERIFIED,
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

LOGGER_NAME = "coder_platform.coder_everyone_group"
QUOTA_KEY = f"{PROJECT}:seeding.everyoneQuotaAllowance"
REPLACING_INPUTS = ("organization",)
UPDATING_INPUTS = ("url", "quota_allowance")


class EveryoneQuotaNotEntitledError(RuntimeError):
    """The deployment's licenses do not grant groups; nothing was written to Coder."""


@dataclass(frozen=True)
class CoderEveryoneGroupArgs:
    url: pulumi.Input[str]
    token: pulumi.Input[str]
    quota_allowance: pulumi.Input[int]
    organization: pulumi.Input[str] = "default"


def comparable(props: Mapping[str, Any]) -> dict[str, Any]:
    quota = props.get("quota_allowance")
    return {
        "url": props.get("url"),
        "organization": props.get("organization") or "default",
        "quota_allowance": whole_number(quota) if is_known(quota) else quota,
    }


def everyone_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    failures = connection_failures(props)
    quota, organization = props.get("quota_allowance"), props.get("organization")
    if is_known(quota) and ((whole_number(quota) is None) or (whole_number(quota) or 0) < 0):
        failures.append(
            dyn.CheckFailure(
                "quota_allowance",
                "quota_allowance: must be a whole number of workspace quota credits, 0 or more",
            )
        )
    if is_known(organization) and not (isinstance(organization, str) and organization):
        failures.append(
            dyn.CheckFailure(
                "organization", "organization: must name a Coder organization (default: default)"
            )
        )
    return failures


class CoderEveryoneGroupProvider(TokenAuthenticatedProvider):
    """Converges the Everyone group's quota; see the module docstring for the contract."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, everyone_failures(inputs_of(news)))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        """Entitlement first, then the organization's Everyone group found by its reserved name
        and its quota set when it differs."""
        props = inputs_of(props)
        raise_on_failures("CoderEveryoneGroup", everyone_failures(props))
        with self._client(props) as client:
            _require_entitlement(client)
            try:
                group = client.get_group_by_name(props["organization"], EVERYONE_GROUP)
            except CoderNotEntitledError:
                raise _not_entitled() from None
            if group is None:
                raise RuntimeError(
                    f"organization {props['organization']!r} has no {EVERYONE_GROUP!r} group "
                    "(GET /organizations/{org}/groups/Everyone): check seeding's organization"
                )
            group = _converge(client, group, props)
        return dyn.CreateResult(group.id, _outs(props, group))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: one GET /groups/{id}. Gone when Coder no longer grants groups (re-added
        with the license in the same run) or the organization is; otherwise the live quota."""
        props = inputs_of(props)
        log = logging.getLogger(LOGGER_NAME)
        with self._client(props) as client:
            try:
                found = read_with_current_token(client, props, lambda c: c.get_group(id_))
            except CoderNotEntitledError:
                log.warning("the Everyone group: Coder no longer grants groups; reported gone")
                return gone()
        if found is None:
            log.warning(
                "the Everyone group: the token in state was refused (rotated or revoked); it is "
                "re-checked with the current token on the next update"
            )
            return dyn.ReadResult(id_, {**props, UNVERIFIED: True})
        group, props = found
        if group is None:
            return gone()
        return dyn.ReadResult(id_, _outs(props, group))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        olds, news = inputs_of(olds), inputs_of(news)
        old, new = comparable(olds), comparable(news)
        replaces = declared_changes(old, new, REPLACING_INPUTS)
        updates = declared_changes(old, new, UPDATING_INPUTS)
        if olds.get(UNVERIFIED):
            updates.append(UNVERIFIED)
        return dyn.DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        news = inputs_of(news)
        raise_on_failures("CoderEveryoneGroup", everyone_failures(news))
        with self._client(news) as client:
            _require_entitlement(client)
            group = client.get_group(id_)
            if group is None:
                raise RuntimeError(
                    "the Everyone group was not found after the last refresh: run again with "
                    "refresh (reconcile does)"
                )
            group = _converge(client, group, news)
        return dyn.UpdateResult(_outs(news, group))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Writes nothing: the Everyone group is Coder's, and its quota stays as it is."""
        logging.getLogger(LOGGER_NAME).info(
            "the Everyone group's quota is no longer managed; Coder keeps it as it is"
        )


def _not_entitled(_feature: str = GROUPS_FEATURE) -> EveryoneQuotaNotEntitledError:
    return EveryoneQuotaNotEntitledError(
        not_entitled_message(
            f"the {EVERYONE_GROUP} group's quota",
            "Coder cannot manage it without",
            GROUPS_FEATURE,
            f"remove {QUOTA_KEY}",
        )
    )


def _require_entitlement(client: CoderClient) -> None:
    require_entitlements(client, [GROUPS_FEATURE], _not_entitled)


def _converge(client: CoderClient, group: Group, props: Mapping[str, Any]) -> Group:
    quota = whole_number(props.get("quota_allowance")) or 0
    if group.quota_allowance == quota:
        return group
    logging.getLogger(LOGGER_NAME).info("the Everyone group's quota set to %d", quota)
    return client.update_group(group.id, quota_allowance=quota)


def _outs(props: Mapping[str, Any], group: Group) -> dict[str, Any]:
    return {
        **props,
        "group_id": group.id,
        "quota_allowance": group.quota_allowance,
        UNVERIFIED: False,
    }


class CoderEveryoneGroup(dyn.Resource, module="coder", name="CoderEveryoneGroup"):
    """Type token ``pulumi-python:dynamic/coder:CoderEveryoneGroup``; output ``group_id`` (the
    organization's id). The token is kept secret."""

    group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderEveryoneGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "token": pulumi.Output.secret(args.token),
            "organization": args.organization,
            "quota_allowance": args.quota_allowance,
            "group_id": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        super().__init__(
            CoderEveryoneGroupProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
