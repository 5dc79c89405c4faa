"""CoderTemplateAccess: a template's ACL converged against the in-process Coder double (which
follows coderd 2.36's ``/templates/{id}/acl``; the shared scenarios run the same against the real
Coder in the e2e tier).

Contract clauses: C1 (inputs fail at check; a missing entitlement or an unknown group or user
fails before any write, naming the config keys), C2 (a converged ACL makes zero writes; the token
never counts as a change; no secret in an error), C3 (entries added, changed or removed by hand
are taken back in one PATCH; gone with its template).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from coder_platform.coder_api import CoderClient
from coder_platform.contracts import CURRENT_CODER_TOKEN_ENV
from components.providers.coder_template_access import (
    ACCESS_KEY,
    CoderTemplateAccess,
    CoderTemplateAccessArgs,
    CoderTemplateAccessProvider,
    TemplateAccessNotEntitledError,
    TemplateAccessUnknownError,
)
from components.providers.common import LICENSE_CONFIG_KEY, UNVERIFIED
from components.providers.sdk_internals import UNKNOWN
from testbed.coder_double import BASE_URL, ORG_ID, CoderDouble
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

TYPE = "pulumi-python:dynamic/coder:CoderTemplateAccess"

Inputs = Callable[..., dict[str, Any]]


@pytest.fixture
def double() -> CoderDouble:
    coder = seeded_double()
    coder.entitle("template_rbac")
    for username in ("alice", "bob"):
        coder.add_user(username)
    return coder


@pytest.fixture
def token(double: CoderDouble) -> str:
    return mint_token(double, "access")


@pytest.fixture
def template_id(double: CoderDouble, token: str) -> str:
    template_id = double.add_template("hello", ["v1"])
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.authenticate(token)
        client.create_group("default", "platform-team")
        client.create_group("default", "contractors")
    return template_id


@pytest.fixture
def provider(double: CoderDouble) -> CoderTemplateAccessProvider:
    return CoderTemplateAccessProvider(client_factory(double))


@pytest.fixture
def inputs(token: str, template_id: str) -> Inputs:
    def build(**overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "url": BASE_URL,
            "token": token,
            "organization": "default",
            "template": "hello",
            "template_id": template_id,
            "organization_id": ORG_ID,
            "groups": {"platform-team": "admin"},
            "users": {"alice": "use"},
            "everyone": "use",
        }
        return props | overrides

    return build


def acl_of(double: CoderDouble, template_id: str) -> dict[str, dict[str, str]]:
    """The template's ACL by name, as an admin reads it in Coder."""
    record = double.template_records[template_id]
    groups = {
        ("Everyone" if gid == ORG_ID else double.groups[gid].name): role
        for gid, role in record.group_acl.items()
    }
    users = {double.users[uid].username: role for uid, role in record.user_acl.items()}
    return {"groups": groups, "users": users}


def test_create_grants_the_declared_roles_and_keeps_everyone_when_declared(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    id_, outs = created(provider, inputs())
    assert id_ == template_id
    assert acl_of(double, template_id) == {
        "groups": {"Everyone": "use", "platform-team": "admin"},
        "users": {"alice": "use"},
    }
    assert outs["groups"] == {"platform-team": "admin"} and outs[UNVERIFIED] is False


def test_create_removes_everyone_when_declared_none(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    created(provider, inputs(everyone="none"))
    assert "Everyone" not in acl_of(double, template_id)["groups"]


def test_a_converged_acl_reads_without_a_diff_and_makes_zero_writes(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs
) -> None:
    id_, outs = created(provider, inputs())
    start = len(double.requests)
    read = read_outs(provider, id_, outs)
    assert not provider.diff(id_, read, inputs()).changes
    assert double.requests[start:] == [("GET", f"/templates/{id_}/acl")]
    provider.update(id_, read, inputs())
    assert writes_since(double, start) == []


def test_entries_changed_by_hand_are_taken_back_in_one_patch(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    id_, outs = created(provider, inputs())
    record = double.template_records[template_id]
    contractors = double.group_named("contractors").id
    record.group_acl[contractors] = "admin"  # added by hand
    record.group_acl.pop(ORG_ID)  # Everyone taken away by hand
    record.user_acl[double.user_named("alice").id] = "admin"  # raised by hand
    record.user_acl[double.user_named("bob").id] = "use"
    read = read_outs(provider, id_, outs)
    assert read["groups"] == {"platform-team": "admin", "contractors": "admin"}
    assert read["everyone"] == "none"
    assert provider.diff(id_, read, inputs()).changes
    start = len(double.requests)
    provider.update(id_, read, inputs())
    assert writes_since(double, start) == [("PATCH", f"/templates/{id_}/acl")]
    assert acl_of(double, template_id) == {
        "groups": {"Everyone": "use", "platform-team": "admin"},
        "users": {"alice": "use"},
    }


def test_the_template_gone_makes_the_access_gone(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    id_, outs = created(provider, inputs())
    double.template_records[template_id].deleted = True
    assert provider.read(id_, outs).id == ""


def test_create_fails_before_any_write_without_the_entitlement(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    double.entitled.clear()
    start = len(double.requests)
    with pytest.raises(TemplateAccessNotEntitledError) as refused:
        provider.create(inputs())
    text = str(refused.value)
    assert "template_rbac" in text and LICENSE_CONFIG_KEY in text and ACCESS_KEY in text
    assert "Nothing was changed" in text
    assert writes_since(double, start) == []


def test_an_unknown_group_or_user_fails_naming_it_before_any_write(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    start = len(double.requests)
    with pytest.raises(TemplateAccessUnknownError, match="'ghosts'"):
        provider.create(inputs(groups={"ghosts": "use", "platform-team": "admin"}))
    with pytest.raises(TemplateAccessUnknownError, match="'zed'"):
        provider.create(inputs(users={"zed": "use"}))
    assert writes_since(double, start) == []


def test_a_read_without_the_entitlement_reports_the_access_gone(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs
) -> None:
    id_, outs = created(provider, inputs())
    double.entitled.clear()
    assert provider.read(id_, outs).id == ""


def test_a_rotated_token_is_unverified_not_a_failure(
    double: CoderDouble,
    provider: CoderTemplateAccessProvider,
    inputs: Inputs,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CURRENT_CODER_TOKEN_ENV, raising=False)
    id_, outs = created(provider, inputs())
    revoke(double, token)
    read = read_outs(provider, id_, outs)
    assert read[UNVERIFIED] is True
    assert provider.diff(id_, read, inputs()).changes


def test_diff_ignores_the_token_and_replaces_for_another_template(
    provider: CoderTemplateAccessProvider, inputs: Inputs
) -> None:
    olds = {**inputs(), UNVERIFIED: False}
    assert not provider.diff("t", olds, inputs(token="rotated")).changes
    other = provider.diff("t", olds, inputs(template_id="another"))
    assert other.replaces == ["template_id"]
    assert provider.diff("t", olds, inputs(groups={"platform-team": "use"})).changes
    assert provider.diff("t", olds, inputs(everyone=UNKNOWN)).changes


def test_check_names_each_bad_field(provider: CoderTemplateAccessProvider, inputs: Inputs) -> None:
    bad = inputs(groups={"platform-team": "owner"}, users={"bad name": "use"}, everyone="admin")
    failures = {f.property for f in provider.check({}, bad).failures}
    assert failures == {"groups", "users", "everyone"}
    assert provider.check({}, inputs(template_id=UNKNOWN)).failures == []


def test_delete_writes_nothing_and_leaves_the_acl(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs, template_id: str
) -> None:
    id_, outs = created(provider, inputs(everyone="none"))
    before = acl_of(double, template_id)
    start = len(double.requests)
    provider.delete(id_, outs)
    assert double.requests[start:] == [] and acl_of(double, template_id) == before


def test_resource_registers_its_type_token_and_keeps_the_token_secret() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderTemplateAccess(
            "template-access-hello",
            CoderTemplateAccessArgs(
                BASE_URL,
                "mock-token-Zq81-3f7c9e2a4b6d",
                template="hello",
                template_id="tid",
                organization_id=ORG_ID,
                groups={"platform-team": "admin"},
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["token"])
    assert registered.inputs["everyone"] == "use"
    assert registered.inputs["groups"] == {"platform-team": "admin"}
    assert capture.opts("template-access-hello").additional_secret_outputs == ["token"]


def test_the_provider_pickles_by_reference_without_a_client_when_serialized_into_state() -> None:
    raw = base64.b64decode(serialize_provider(CoderTemplateAccessProvider()))
    assert b"components.providers.coder_template_access" in raw
    assert len(raw) < 400, "only the class reference, no client"
    assert isinstance(dill.loads(raw), CoderTemplateAccessProvider)


def test_a_template_renamed_in_place_updates_the_stored_name_without_a_coder_write(
    double: CoderDouble, provider: CoderTemplateAccessProvider, inputs: Inputs
) -> None:
    """The policy matches a template to its access by name: the stored one follows a rename."""
    id_, outs = created(provider, inputs())
    read = read_outs(provider, id_, outs)
    renamed = inputs(template="hello-renamed")
    assert provider.diff(id_, read, renamed).changes
    start = len(double.requests)
    updated = provider.update(id_, read, renamed)
    assert updated.outs is not None and updated.outs["template"] == "hello-renamed"
    assert writes_since(double, start) == []
