"""CoderGroup: the Premium entitlement checked before any write, members by username, zero
writes when nothing changed, drift taken back, against the in-process Coder double.

Contract clauses: C1 (inputs fail at check; an unknown member or a missing entitlement fails
before any write, naming the config keys), C2 (a no-op run makes zero writes; the token never
counts as a change; no secret in an error or a log), C3 (gone after a reset; hand edits of
members or settings are taken back).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from coder_platform.coder_api import CoderClient
from components.providers.coder_group import (
    GROUPS_KEY,
    CoderGroup,
    CoderGroupArgs,
    CoderGroupProvider,
    GroupMemberUnknownError,
    GroupsNotEntitledError,
)
from components.providers.common import LICENSE_CONFIG_KEY, UNVERIFIED
from components.providers.sdk_internals import UNKNOWN
from testbed.coder_double import BASE_URL, CoderDouble
from testbed.coder_double.people import license_jwt
from testbed.harness import CapturedOptions, is_secret, run_component
from tests.components.providers.seeded_coder import (
    client_factory,
    created,
    mint_token,
    read_outs,
    revoke,
    seeded_double,
    writes_since,
)

TYPE = "pulumi-python:dynamic/coder:CoderGroup"

Inputs = Callable[..., dict[str, Any]]


@pytest.fixture
def double() -> CoderDouble:
    coder = seeded_double()
    coder.entitle("template_rbac")
    for username in ("alice", "bob", "carol"):
        coder.add_user(username)
    return coder


@pytest.fixture
def token(double: CoderDouble) -> str:
    return mint_token(double, "groups")


@pytest.fixture
def provider(double: CoderDouble) -> CoderGroupProvider:
    return CoderGroupProvider(client_factory(double))


@pytest.fixture
def inputs(token: str) -> Inputs:
    def build(**overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "url": BASE_URL,
            "token": token,
            "organization": "default",
            "name": "platform",
            "display_name": "Platform team",
            "members": ["bob", "alice"],
            "quota_allowance": 10.0,  # the engine sends numbers as floats
            "__provider": "pickled-provider",
        }
        props.update(overrides)
        return props

    return build


# -- entitlement ----------------------------------------------------------------------------------


def test_create_fails_before_any_write_naming_the_keys_when_groups_are_not_entitled(
    inputs: Inputs,
) -> None:
    double = seeded_double()
    double.add_user("alice")
    provider = CoderGroupProvider(client_factory(double))
    props = inputs(token=mint_token(double, "groups"))
    writes = double.writes()
    with pytest.raises(GroupsNotEntitledError) as raised:
        provider.create(props)
    assert double.writes() == writes
    text = str(raised.value)
    assert GROUPS_KEY in text and LICENSE_CONFIG_KEY in text and "template_rbac" in text
    assert "Nothing was changed" in text
    assert props["token"] not in text
    assert double.groups == {}


def test_update_fails_before_any_write_when_the_entitlement_is_gone(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    double.entitled.clear()
    writes = double.writes()
    with pytest.raises(GroupsNotEntitledError, match=GROUPS_KEY):
        provider.update(group_id, outs, inputs(members=["carol"]))
    assert double.writes() == writes


def test_a_license_that_grants_template_rbac_is_enough_for_groups(inputs: Inputs) -> None:
    double = seeded_double()
    double.add_user("alice")
    double.add_user("bob")
    provider = CoderGroupProvider(client_factory(double))
    token = mint_token(double, "groups")
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.authenticate(token)
        client.add_license(license_jwt(features={"template_rbac": 1}))
    created(provider, inputs(token=token))
    assert double.group_members("platform") == ["alice", "bob"]


# -- create ---------------------------------------------------------------------------------------


def test_create_makes_the_group_and_adds_members_by_username_in_two_writes(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    group_id, outs = created(provider, inputs())
    assert writes_since(double, start) == [
        ("POST", "/organizations/default/groups"),
        ("PATCH", f"/groups/{group_id}"),
    ]
    group = double.groups[group_id]
    assert (group.display_name, group.quota_allowance) == ("Platform team", 10)
    assert double.group_members("platform") == ["alice", "bob"]
    assert (outs["group_id"], outs["members"]) == (group_id, ["alice", "bob"])


def test_create_writes_once_when_the_group_has_no_members(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    created(provider, inputs(members=[]))
    assert writes_since(double, start) == [("POST", "/organizations/default/groups")]


def test_create_names_every_unknown_member_before_any_write(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    writes = double.writes()
    with pytest.raises(GroupMemberUnknownError) as raised:
        provider.create(inputs(members=["alice", "zed", "yan"]))
    assert "'zed'" in str(raised.value) and "'yan'" in str(raised.value)
    assert GROUPS_KEY in str(raised.value)
    assert double.writes() == writes


def test_create_adopts_an_existing_group_with_the_name_and_converges_it(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    first_id, _ = created(provider, inputs(members=["carol"], quota_allowance=1))
    group_id, _ = created(provider, inputs())
    assert group_id == first_id
    assert double.group_members("platform") == ["alice", "bob"]
    assert double.groups[group_id].quota_allowance == 10


# -- read and diff --------------------------------------------------------------------------------


def test_read_and_diff_make_zero_writes_when_nothing_changed(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    start = len(double.requests)
    refreshed = read_outs(provider, group_id, outs)
    assert provider.diff(group_id, refreshed, inputs()).changes is False
    assert double.requests[start:] == [("GET", f"/groups/{group_id}")]


def test_diff_shows_no_change_when_only_the_token_changed(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    rotated = mint_token(double, "rotated")
    assert provider.diff(group_id, outs, inputs(token=rotated)).changes is False


def test_diff_replaces_only_for_another_organization(
    provider: CoderGroupProvider, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    assert provider.diff(group_id, outs, inputs(organization="research")).replaces == [
        "organization"
    ]
    diff = provider.diff(group_id, outs, inputs(display_name="Platform", members=["alice"]))
    assert diff.changes is True and diff.replaces == []


def test_hand_edits_of_members_and_quota_read_as_drift_and_one_patch_restores_them(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    group = double.groups[group_id]
    group.member_ids = [double.user_named("carol").id, double.user_named("alice").id]
    group.quota_allowance = 99
    refreshed = read_outs(provider, group_id, outs)
    assert (refreshed["members"], refreshed["quota_allowance"]) == (["alice", "carol"], 99)
    assert provider.diff(group_id, refreshed, inputs()).changes is True
    start = len(double.requests)
    result = provider.update(group_id, refreshed, inputs())
    assert writes_since(double, start) == [("PATCH", f"/groups/{group_id}")]
    assert double.group_members("platform") == ["alice", "bob"]
    assert group.quota_allowance == 10
    assert result.outs is not None and result.outs["members"] == ["alice", "bob"]


def test_a_reset_reads_as_gone_and_create_restores_the_group_with_its_members(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    del double.groups[group_id]
    assert provider.read(group_id, outs).id == ""
    created(provider, inputs())
    assert double.group_members("platform") == ["alice", "bob"]


def test_read_reports_gone_instead_of_failing_when_the_license_was_removed(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    double.entitled.clear()
    assert provider.read(group_id, outs).id == ""


def test_a_rotated_token_leaves_read_unverified_and_update_writes_nothing(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs, token: str
) -> None:
    group_id, outs = created(provider, inputs())
    revoke(double, token)
    refreshed = read_outs(provider, group_id, outs)
    assert refreshed[UNVERIFIED] is True
    news = inputs(token=mint_token(double, "rotated"))
    assert provider.diff(group_id, refreshed, news).changes is True
    writes = double.writes()
    provider.update(group_id, refreshed, news)
    assert double.writes() == writes


# -- delete ---------------------------------------------------------------------------------------


def test_delete_removes_the_group_and_succeeds_again_when_it_is_already_gone(
    provider: CoderGroupProvider, double: CoderDouble, inputs: Inputs
) -> None:
    group_id, outs = created(provider, inputs())
    provider.delete(group_id, outs)
    assert double.groups == {}
    provider.delete(group_id, outs)
    assert double.user_named("alice").status == "active", "members' accounts stay"


# -- check, secrecy, registration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "coder.internal"),
        ("token", ""),
        ("organization", ""),
        ("name", "platform team"),
        ("name", "x" * 33),
        ("display_name", "d" * 65),
        ("members", ["alice", "alice"]),
        ("members", ["not a user"]),
        ("quota_allowance", -1),
        ("quota_allowance", 1.5),
    ],
)
def test_check_names_the_field_when_an_input_is_invalid(
    provider: CoderGroupProvider, inputs: Inputs, field: str, value: Any
) -> None:
    failures = provider.check({}, inputs(**{field: value})).failures
    assert [f.property for f in failures] == [field]
    assert failures[0].reason.startswith(f"{field}:")


def test_check_passes_when_inputs_are_valid_or_unknown_at_preview(
    provider: CoderGroupProvider, inputs: Inputs
) -> None:
    assert provider.check({}, inputs()).failures == []
    unknown = {key: UNKNOWN for key in ("url", "token", "name", "members", "quota_allowance")}
    assert provider.check({}, inputs(**unknown)).failures == []


def test_no_secret_reaches_a_log_or_an_error_when_the_provider_runs_and_fails(
    provider: CoderGroupProvider,
    double: CoderDouble,
    inputs: Inputs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    group_id, outs = created(provider, inputs())
    provider.read(group_id, outs)
    messages: list[str] = []
    with pytest.raises(GroupMemberUnknownError) as unknown:
        provider.create(inputs(members=["zed"]))
    messages.append(f"{unknown.value} {unknown.value!r}")
    double.entitled.clear()
    with pytest.raises(GroupsNotEntitledError) as refused:
        provider.create(inputs(name="other"))
    messages.append(f"{refused.value} {refused.value!r}")
    text = caplog.text + " ".join(messages)
    for secret in [*double.secrets_seen(), outs["token"]]:
        assert secret not in text


def test_resource_registers_its_type_token_and_keeps_the_token_secret() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderGroup(
            "group-platform",
            CoderGroupArgs(
                BASE_URL,
                "mock-token-Zq81-3f7c9e2a4b6d",
                name="platform",
                members=("alice", "bob"),
                quota_allowance=5,
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["token"])
    assert registered.inputs["organization"] == "default"
    assert registered.inputs["members"] == ["alice", "bob"]
    assert capture.opts("group-platform").additional_secret_outputs == ["token"]


def test_the_provider_pickles_by_reference_without_a_client_when_serialized_into_state() -> None:
    raw = base64.b64decode(serialize_provider(CoderGroupProvider()))
    assert b"components.providers.coder_group" in raw
    assert len(raw) < 400, "only the class reference, no client"
    loaded = dill.loads(raw)
    assert isinstance(loaded, CoderGroupProvider)
    assert "members" in [f.property for f in loaded.check({}, {"members": "alice"}).failures]
