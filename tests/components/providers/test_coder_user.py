"""CoderUser: created once, zero writes when nothing changed, hand changes taken back, login type
changes replace, removal suspends, against the in-process Coder double.

Contract clauses: C1 (inputs fail at check, naming the field, never the value), C2 (a no-op run
makes zero writes; the token never counts as a change; no secret in an error or a log), C3
(gone after a reset; a hand suspension or role change is restored).
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

from coder_platform.contracts import (
    CURRENT_CODER_TOKEN_ENV,
    OIDC_USER_ROLE_FIELD_ENV,
    USER_ROLE_MANAGEMENT_FEATURE,
)
from components.providers.coder_user import (
    CoderUser,
    CoderUserArgs,
    CoderUserProvider,
    ServiceAccountsNotEntitledError,
    UserNotAdoptableError,
    UserRefusedError,
)
from components.providers.coder_user_checks import LOGIN_TYPE_REPLACED, REPLACES_LOGIN_TYPE
from components.providers.common import UNVERIFIED
from components.providers.sdk_internals import UNKNOWN
from testbed.coder_double import BASE_URL, CoderDouble
from testbed.harness import CapturedOptions, is_secret, run_component
from tests.components.providers.seeded_coder import (
    USERNAME,
    client_factory,
    created,
    mint_token,
    read_outs,
    revoke,
    seeded_double,
    writes_since,
)

TYPE = "pulumi-python:dynamic/coder:CoderUser"
USER_PASSWORD = "user-Pw-3b9e07c1d5"
OTHER_PASSWORD = "other-Pw-71c2e9a4b0"

Inputs = Callable[..., dict[str, Any]]


@pytest.fixture
def double() -> CoderDouble:
    return seeded_double()


@pytest.fixture
def token(double: CoderDouble) -> str:
    return mint_token(double, "users")


@pytest.fixture
def provider(double: CoderDouble) -> CoderUserProvider:
    return CoderUserProvider(client_factory(double))


@pytest.fixture
def inputs(token: str) -> Inputs:
    def build(**overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "url": BASE_URL,
            "token": token,
            "username": "alice",
            "email": "alice@corp.test",
            "name": "Alice Example",
            "login_type": "oidc",
            "password": None,
            "roles": [],
            "suspended": False,
            "on_delete": "suspend",
            "__provider": "pickled-provider",
        }
        props.update(overrides)
        return props

    return build


# -- create ---------------------------------------------------------------------------------------


def test_create_writes_once_when_an_oidc_user_without_roles_is_declared(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    user_id, outs = created(provider, inputs())
    assert writes_since(double, start) == [("POST", "/users")]
    live = double.user_named("alice")
    assert (live.id, live.login_type, live.name) == (user_id, "oidc", "Alice Example")
    assert (outs["user_id"], outs["status"], outs["suspended"]) == (user_id, "dormant", False)


def test_create_sets_roles_and_suspension_after_creating_the_user_when_declared(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    user_id, outs = created(provider, inputs(roles=["auditor", "template-admin"], suspended=True))
    assert writes_since(double, start) == [
        ("POST", "/users"),
        ("PUT", f"/users/{user_id}/roles"),
        ("PUT", f"/users/{user_id}/status/suspend"),
    ]
    assert double.user_named("alice").roles == ["auditor", "template-admin"]
    assert (outs["roles"], outs["status"]) == (["auditor", "template-admin"], "suspended")


def test_create_makes_a_password_user_that_can_log_in_when_a_password_is_given(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    created(provider, inputs(login_type="password", password=USER_PASSWORD))
    assert double.user_named("alice").password == USER_PASSWORD


def test_create_names_the_user_and_coders_message_when_oidc_is_not_configured(
    inputs: Inputs,
) -> None:
    double = seeded_double(oidc_configured=False)
    provider = CoderUserProvider(client_factory(double))
    props = inputs(token=mint_token(double, "users"))
    with pytest.raises(UserRefusedError) as raised:
        provider.create(props)
    assert "'alice'" in str(raised.value)
    assert "You must configure OIDC before creating OIDC users." in str(raised.value)
    assert props["token"] not in str(raised.value)


def test_create_refuses_a_service_account_before_any_write_when_not_entitled(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    bot = inputs(username="ci-bot", email=None, login_type="none")
    start = len(double.requests)
    with pytest.raises(ServiceAccountsNotEntitledError, match=r"'ci-bot'.*'service_accounts'"):
        provider.create(bot)
    assert writes_since(double, start) == []
    double.entitle("template_rbac")
    with pytest.raises(ServiceAccountsNotEntitledError):
        provider.create(bot)
    double.entitle("service_accounts")
    _, outs = created(provider, bot)
    assert (outs["login_type"], outs["email"]) == ("none", "")
    assert not provider.diff(outs["user_id"], outs, bot).changes


def test_create_adopts_and_converges_an_existing_user_when_its_login_type_matches(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    existing = double.add_user("alice", login_type="oidc", roles=("auditor",))
    existing.status = "suspended"
    user_id, outs = created(provider, inputs(email=existing.email, roles=["template-admin"]))
    assert user_id == existing.id
    assert (existing.roles, existing.status) == (["template-admin"], "active")
    assert outs["user_id"] == existing.id


def test_create_refuses_to_adopt_a_user_of_another_login_type_naming_both(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    double.add_user("alice", login_type="password")
    start = len(double.requests)
    with pytest.raises(UserNotAdoptableError) as raised:
        provider.create(inputs())
    text = str(raised.value)
    assert "'alice'" in text and "'password'" in text and "'oidc'" in text
    assert writes_since(double, start) == [], "looked up, nothing written"


def test_create_refuses_the_automation_identity_when_it_is_declared_as_a_user(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    with pytest.raises(UserNotAdoptableError, match="automation identity"):
        provider.create(inputs(username=USERNAME, login_type="password", password=OTHER_PASSWORD))
    assert double.user_named(USERNAME).roles == ["owner"]


def test_create_names_the_email_conflict_when_another_username_holds_the_email(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    other = double.add_user("alice-old")
    with pytest.raises(UserNotAdoptableError, match=r"email 'alice-old@corp\.test'"):
        provider.create(inputs(email=other.email))


# -- read and diff --------------------------------------------------------------------------------


def test_read_and_diff_make_zero_writes_when_nothing_changed(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(roles=["template-admin", "auditor"]))
    start = len(double.requests)
    refreshed = read_outs(provider, user_id, outs)
    diff = provider.diff(user_id, refreshed, inputs(roles=["template-admin", "auditor"]))
    assert diff.changes is False
    assert double.requests[start:] == [("GET", "/users/alice")]


def test_diff_shows_no_change_when_only_the_token_changed(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs())
    rotated = mint_token(double, "rotated")
    assert provider.diff(user_id, outs, inputs(token=rotated)).changes is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Alice B."),
        ("roles", ["owner"]),
        ("suspended", True),
        ("username", "alice2"),
        ("on_delete", "delete"),
    ],
)
def test_diff_updates_in_place_when_a_declared_property_changes(
    provider: CoderUserProvider, inputs: Inputs, field: str, value: Any
) -> None:
    user_id, outs = created(provider, inputs())
    diff = provider.diff(user_id, outs, inputs(**{field: value}))
    assert diff.changes is True and diff.replaces == []


def test_a_login_type_change_replaces_the_user_and_says_why_in_plain_words(
    provider: CoderUserProvider, inputs: Inputs, caplog: pytest.LogCaptureFixture
) -> None:
    user_id, outs = created(provider, inputs())
    diff = provider.diff(user_id, outs, inputs(login_type="password", password=USER_PASSWORD))
    assert diff.changes is True and diff.replaces == ["login_type"]
    assert LOGIN_TYPE_REPLACED in caplog.text
    assert "Coder cannot change a user's login type" in LOGIN_TYPE_REPLACED
    assert USER_PASSWORD not in caplog.text


def test_a_login_type_replacement_deletes_the_old_user_and_creates_the_new_one(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    old_id, old_outs = created(provider, inputs(roles=["auditor"]))
    news = inputs(login_type="password", password=USER_PASSWORD, roles=["auditor"])
    checked = provider.check(inputs(), news)
    assert checked.inputs[REPLACES_LOGIN_TYPE] == "oidc"
    new_id, new_outs = created(provider, checked.inputs)
    assert new_id != old_id
    live = double.user_named("alice")
    assert (live.id, live.login_type, live.roles) == (new_id, "password", ["auditor"])
    assert REPLACES_LOGIN_TYPE not in new_outs
    provider.delete(old_id, old_outs)  # the engine removes the replaced resource: already gone
    assert double.user_named("alice").status != "suspended"


def test_check_marks_no_replacement_when_the_login_type_is_unchanged(
    provider: CoderUserProvider, inputs: Inputs
) -> None:
    checked = provider.check(inputs(), inputs(name="Renamed"))
    assert REPLACES_LOGIN_TYPE not in checked.inputs
    assert checked.inputs["__provider"] == "pickled-provider"


# -- drift ----------------------------------------------------------------------------------------


def test_a_hand_suspended_user_reads_as_drift_and_update_reactivates_it(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs())
    double.user_named("alice").status = "suspended"
    refreshed = read_outs(provider, user_id, outs)
    assert refreshed["suspended"] is True
    assert provider.diff(user_id, refreshed, inputs()).changes is True
    start = len(double.requests)
    result = provider.update(user_id, refreshed, inputs())
    assert writes_since(double, start) == [("PUT", f"/users/{user_id}/status/activate")]
    assert double.user_named("alice").status == "active"
    assert result.outs is not None and result.outs["suspended"] is False


def test_a_hand_role_change_reads_as_drift_and_update_restores_the_roles(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(roles=["template-admin"]))
    double.user_named("alice").roles = ["owner", "template-admin"]
    refreshed = read_outs(provider, user_id, outs)
    assert refreshed["roles"] == ["owner", "template-admin"]
    news = inputs(roles=["template-admin"])
    assert provider.diff(user_id, refreshed, news).changes is True
    start = len(double.requests)
    provider.update(user_id, refreshed, news)
    assert writes_since(double, start) == [("PUT", f"/users/{user_id}/roles")]
    assert double.user_named("alice").roles == ["template-admin"]


def test_a_username_change_renames_the_user_in_place_when_updated(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs())
    provider.update(user_id, outs, inputs(username="alice2"))
    assert double.users[user_id].username == "alice2"


def test_a_new_password_is_set_once_when_the_declared_password_changes(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(login_type="password", password=USER_PASSWORD))
    news = inputs(login_type="password", password=USER_PASSWORD + "-new")
    assert provider.diff(user_id, outs, news).changes is True
    start = len(double.requests)
    provider.update(user_id, outs, news)
    assert writes_since(double, start) == [("PUT", f"/users/{user_id}/password")]
    assert double.users[user_id].password == USER_PASSWORD + "-new"


def test_a_reset_or_a_hand_delete_reads_as_gone_and_create_restores_the_user(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(roles=["auditor"]))
    del double.users[user_id]
    assert provider.read(user_id, outs).id == ""
    new_id, _ = created(provider, inputs(roles=["auditor"]))
    assert double.user_named("alice").roles == ["auditor"] and new_id != user_id


def test_a_user_deleted_and_made_again_by_hand_reads_as_gone_when_the_name_is_taken_over(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs())
    del double.users[user_id]
    double.add_user("alice")
    assert provider.read(user_id, outs).id == ""


def test_a_rotated_token_leaves_read_unverified_and_update_writes_nothing(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs, token: str
) -> None:
    user_id, outs = created(provider, inputs())
    revoke(double, token)
    refreshed = read_outs(provider, user_id, outs)
    assert refreshed[UNVERIFIED] is True
    news = inputs(token=mint_token(double, "rotated"))
    assert provider.diff(user_id, refreshed, news).changes is True
    start = len(double.requests)
    result = provider.update(user_id, refreshed, news)
    assert writes_since(double, start) == []
    assert result.outs is not None and result.outs[UNVERIFIED] is False


def test_a_rotated_token_refreshes_with_the_runners_token_when_handed_over(
    provider: CoderUserProvider,
    double: CoderDouble,
    inputs: Inputs,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_id, outs = created(provider, inputs())
    revoke(double, token)
    rotated = mint_token(double, "rotated")
    monkeypatch.setenv(CURRENT_CODER_TOKEN_ENV, rotated)
    refreshed = read_outs(provider, user_id, outs)
    assert refreshed[UNVERIFIED] is False and refreshed["token"] == rotated
    assert provider.diff(user_id, refreshed, inputs(token=rotated)).changes is False


# -- delete ---------------------------------------------------------------------------------------


def test_a_removed_user_is_suspended_not_deleted_by_default(
    provider: CoderUserProvider,
    double: CoderDouble,
    inputs: Inputs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    user_id, outs = created(provider, inputs(roles=["owner"]))
    provider.delete(user_id, outs)
    live = double.users[user_id]
    assert (live.status, live.roles) == ("suspended", [])
    assert "suspended" in caplog.text


def test_a_removed_user_is_deleted_only_when_on_delete_is_delete(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(on_delete="delete"))
    provider.delete(user_id, outs)
    assert user_id not in double.users
    provider.delete(user_id, outs)  # already gone is success


def test_delete_fails_clearly_and_changes_nothing_when_the_user_owns_workspaces(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(on_delete="delete"))
    double.give_workspaces("alice", 2)
    with pytest.raises(UserRefusedError, match="'alice' cannot be deleted: they own workspaces"):
        provider.delete(user_id, outs)
    assert user_id in double.users


# -- check and secrecy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("url", {"url": "coder.internal"}),
        ("token", {"token": ""}),
        ("username", {"username": "alice_b"}),
        ("email", {"email": "alice"}),
        ("login_type", {"login_type": "saml"}),
        ("email", {"login_type": "none", "email": "bot@corp.test"}),
        ("email", {"email": None}),
        ("password", {"login_type": "password", "password": None}),
        ("password", {"login_type": "password", "password": "short"}),
        ("password", {"password": USER_PASSWORD}),
        ("roles", {"roles": ["admin"]}),
        ("roles", {"roles": ["auditor", "auditor"]}),
        ("suspended", {"roles": ["owner"], "suspended": True}),
        ("on_delete", {"on_delete": "purge"}),
    ],
)
def test_check_names_the_field_and_never_the_value_when_an_input_is_invalid(
    provider: CoderUserProvider, inputs: Inputs, field: str, overrides: dict[str, Any]
) -> None:
    failures = provider.check({}, inputs(**overrides)).failures
    assert [f.property for f in failures] == [field]
    assert failures[0].reason.startswith(f"{field}:")
    assert USER_PASSWORD not in failures[0].reason


def test_check_passes_when_inputs_are_valid_or_unknown_at_preview(
    provider: CoderUserProvider, inputs: Inputs
) -> None:
    assert provider.check({}, inputs()).failures == []
    assert provider.check({}, inputs(login_type="password", password=USER_PASSWORD)).failures == []
    unknown = {key: UNKNOWN for key in ("url", "token", "username", "password", "roles")}
    assert provider.check({}, inputs(**unknown)).failures == []


def test_create_refuses_to_call_coder_when_an_input_is_invalid(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    with pytest.raises(ValueError, match="roles: must be"):
        provider.create(inputs(roles=["admin"]))
    assert len(double.requests) == start


def test_no_secret_reaches_a_log_or_an_error_when_the_provider_runs_and_fails(
    provider: CoderUserProvider,
    double: CoderDouble,
    inputs: Inputs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    user_id, outs = created(provider, inputs(login_type="password", password=USER_PASSWORD))
    provider.diff(user_id, outs, inputs(login_type="oidc"))
    messages: list[str] = []
    double.give_workspaces("alice")
    failing: list[Callable[[], object]] = [
        lambda: provider.create(inputs(login_type="password", password="x")),
        lambda: provider.create(
            inputs(username="bob", email="b@corp.test", password="pw-12345678")
        ),
        lambda: provider.delete(user_id, {**outs, "on_delete": "delete"}),
    ]
    for call in failing:
        with pytest.raises(Exception) as raised:  # each failure's text is inspected
            call()
        messages.append(f"{raised.value} {raised.value!r}")
    text = caplog.text + " ".join(messages)
    for secret in [*double.secrets_seen(), outs["token"], USER_PASSWORD, "pw-12345678"]:
        assert secret not in text


# -- registration ---------------------------------------------------------------------------------


def test_resource_registers_its_type_token_and_keeps_token_and_password_secret() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderUser(
            "user-erin",
            CoderUserArgs(
                BASE_URL,
                "mock-token-Zq81-3f7c9e2a4b6d",
                username="erin",
                email="erin@corp.test",
                login_type="password",
                password=USER_PASSWORD,
                roles=("template-admin",),
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["token"]) and is_secret(registered.inputs["password"])
    assert registered.inputs["login_type"] == "password"
    assert registered.inputs["roles"] == ["template-admin"]
    assert registered.inputs["on_delete"] == "suspend"
    assert capture.opts("user-erin").additional_secret_outputs == ["token", "password"]


def test_resource_defaults_to_an_oidc_person_that_is_suspended_on_removal() -> None:
    mocks = run_component(
        lambda: CoderUser(
            "user-alice",
            CoderUserArgs(BASE_URL, "mock-token-Zq81-3f7c9e2a4b6d", "alice", "alice@corp.test"),
        )
    )
    registered = mocks.one(TYPE)
    assert (registered.inputs["login_type"], registered.inputs["suspended"]) == ("oidc", False)
    assert registered.inputs.get("password") is None


def test_the_provider_pickles_by_reference_without_a_client_when_serialized_into_state() -> None:
    raw = base64.b64decode(serialize_provider(CoderUserProvider()))
    assert b"components.providers.coder_user" in raw
    assert len(raw) < 400, "only the class reference, no client"
    loaded = dill.loads(raw)
    assert isinstance(loaded, CoderUserProvider)
    assert "roles" in [f.property for f in loaded.check({}, {"roles": ["admin"]}).failures]


def _role_sync_on(double: CoderDouble) -> None:
    """Coder's site role sync: the OIDC user role field, and the entitlement it needs."""
    double.oidc_user_role_field = "roles"
    double.entitle(USER_ROLE_MANAGEMENT_FEATURE)


def test_a_role_change_under_idp_role_sync_fails_naming_the_user_and_the_fix(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(roles=[]))
    _role_sync_on(double)
    start = len(double.requests)
    with pytest.raises(UserRefusedError) as raised:
        provider.update(user_id, outs, inputs(roles=["auditor"]))
    text = str(raised.value)
    assert "'alice'" in text and "role sync" in text and "Remove roles" in text
    assert OIDC_USER_ROLE_FIELD_ENV in text
    assert writes_since(double, start) == [("PUT", f"/users/{user_id}/roles")]


def test_roles_are_written_when_the_role_field_is_set_without_the_entitlement(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    """coderd's SiteRoleSyncEnabled needs user_role_management: the field alone is not sync."""
    user_id, outs = created(provider, inputs(roles=[]))
    double.oidc_user_role_field = "roles"
    provider.update(user_id, outs, inputs(roles=["auditor"]))
    assert double.user_named("alice").roles == ["auditor"]


def test_a_user_removed_under_role_sync_is_suspended_with_the_idps_roles(
    provider: CoderUserProvider,
    double: CoderDouble,
    inputs: Inputs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_id, outs = created(provider, inputs(roles=["auditor"]))
    _role_sync_on(double)
    with caplog.at_level(logging.WARNING):
        provider.delete(user_id, outs)
    alice = double.user_named("alice")
    assert (alice.status, alice.roles) == ("suspended", ["auditor"])
    assert "alice" in caplog.text and "role sync owns them" in caplog.text


def test_unset_roles_are_left_to_the_idp_when_role_sync_owns_them(
    provider: CoderUserProvider, double: CoderDouble, inputs: Inputs
) -> None:
    _role_sync_on(double)
    user_id, outs = created(provider, inputs(roles=None))
    double.user_named("alice").roles = ["auditor"]  # the IdP's sync
    refreshed = read_outs(provider, user_id, outs)
    assert provider.diff(user_id, refreshed, inputs(roles=None)).changes is False
    assert refreshed["roles"] is None


def test_old_state_with_managed_roles_reads_no_change_when_roles_become_unset(
    provider: CoderUserProvider, inputs: Inputs
) -> None:
    user_id, outs = created(provider, inputs(roles=["auditor"]))
    assert provider.diff(user_id, outs, inputs(roles=None)).changes is False
