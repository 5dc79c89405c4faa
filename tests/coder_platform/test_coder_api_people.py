"""The client's user, group, license and entitlement endpoints against the double, and the
double's own Coder rules.

The double must be as strict as Coder (v2.36) where a difference would hide a bug: OIDC users
need an OIDC issuer, ``none`` users are Premium service accounts, nobody changes their own roles
or deletes themselves, a user with workspaces cannot be deleted, groups answer 403 without the
``template_rbac`` entitlement, and a database reset drops users, groups and licenses.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from coder_platform.coder_api import (
    CoderApiError,
    CoderAuthError,
    CoderClient,
    CoderConflictError,
    CoderNotEntitledError,
    CoderSelfTargetError,
    CoderUserInUseError,
)
from coder_platform.coder_api.people import claims_grant, license_claims
from testbed.coder_double import BASE_URL, CoderDouble, FakeClock
from testbed.coder_double.people import license_jwt

EMAIL = "automation@coder-platform.test"
USERNAME = "coder-automation"
PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"
USER_PASSWORD = "user-Pw-8d2a41c7e9"


@pytest.fixture
def double() -> CoderDouble:
    return CoderDouble(oidc_configured=True)


@pytest.fixture
def owner(double: CoderDouble) -> CoderClient:
    client = CoderClient(BASE_URL, transport=double.transport(), clock=FakeClock())
    client.create_first_user(EMAIL, USERNAME, "", PASSWORD)
    client.authenticate(client.login(EMAIL, PASSWORD))
    return client


# -- users ----------------------------------------------------------------------------------------


def test_create_user_makes_a_dormant_oidc_user_without_roles_when_oidc_is_configured(
    owner: CoderClient, double: CoderDouble
) -> None:
    user = owner.create_user("alice", "alice@corp.test", name="Alice", login_type="oidc")
    assert (user.username, user.login_type, user.status, user.site_roles) == (
        "alice",
        "oidc",
        "dormant",
        [],
    )
    assert double.count("POST", "/users") == 1


def test_list_users_returns_every_user_with_its_login_type_when_authenticated(
    owner: CoderClient,
) -> None:
    owner.create_user("alice", "alice@corp.test", name="Alice", login_type="oidc")
    listed = {user.username: user.login_type for user in owner.list_users()}
    assert listed == {USERNAME: "password", "alice": "oidc"}


def test_list_users_is_refused_when_the_client_is_not_authenticated(double: CoderDouble) -> None:
    anonymous = CoderClient(BASE_URL, transport=double.transport(), clock=FakeClock())
    with pytest.raises(CoderAuthError):
        anonymous.list_users()


def test_create_user_surfaces_coders_message_when_oidc_is_not_configured(
    owner: CoderClient, double: CoderDouble
) -> None:
    double.oidc_configured = False
    with pytest.raises(CoderApiError) as raised:
        owner.create_user("alice", "alice@corp.test", login_type="oidc")
    assert raised.value.status == 400
    assert "You must configure OIDC before creating OIDC users." in str(raised.value)


def test_create_user_is_a_conflict_when_the_username_or_the_email_is_taken(
    owner: CoderClient,
) -> None:
    owner.create_user("alice", "alice@corp.test", login_type="oidc")
    with pytest.raises(CoderConflictError):
        owner.create_user("alice", "other@corp.test", login_type="oidc")
    with pytest.raises(CoderConflictError):
        owner.create_user("alice2", "alice@corp.test", login_type="oidc")


def test_create_user_refuses_a_password_for_another_login_type_without_echoing_it(
    owner: CoderClient,
) -> None:
    with pytest.raises(CoderApiError) as raised:
        owner.create_user("alice", "a@corp.test", login_type="oidc", password=USER_PASSWORD)
    assert raised.value.status == 400
    assert USER_PASSWORD not in str(raised.value)


def test_service_accounts_are_premium_when_no_license_is_present(
    owner: CoderClient, double: CoderDouble
) -> None:
    with pytest.raises(CoderNotEntitledError):
        owner.create_user("ci-bot", None, login_type="none")
    owner.add_license(license_jwt(all_features=True))  # the Enterprise set: no service accounts
    with pytest.raises(CoderNotEntitledError):
        owner.create_user("ci-bot", None, login_type="none")
    owner.add_license(license_jwt(feature_set="premium"))
    assert owner.create_user("ci-bot", None, login_type="none").login_type == "none"
    with pytest.raises(CoderApiError, match="Email cannot be set for service accounts"):
        owner.create_user("ci-bot-2", "ci@corp.test", login_type="none")


def test_roles_status_and_profile_change_when_an_owner_asks(owner: CoderClient) -> None:
    user = owner.create_user("bob", "bob@corp.test", login_type="oidc")
    assert owner.update_roles(user.id, ["template-admin", "auditor"]).site_roles == [
        "auditor",
        "template-admin",
    ]
    assert owner.suspend_user(user.id).suspended is True
    assert owner.activate_user(user.id).status == "active"
    renamed = owner.update_profile(user.id, "bobby", "Bob B.")
    assert (renamed.username, renamed.name) == ("bobby", "Bob B.")


def test_the_caller_cannot_change_its_own_roles_suspend_or_delete_itself(
    owner: CoderClient,
) -> None:
    me = owner.me()
    with pytest.raises(CoderSelfTargetError):
        owner.update_roles(me.id, [], username=USERNAME)
    with pytest.raises(CoderSelfTargetError):
        owner.suspend_user(me.id)
    with pytest.raises(CoderSelfTargetError) as raised:
        owner.delete_user(me.id)
    assert raised.value.status == 403


def test_an_owner_cannot_be_suspended_until_the_role_is_removed(owner: CoderClient) -> None:
    user = owner.create_user("carol", "carol@corp.test", login_type="oidc")
    owner.update_roles(user.id, ["owner"])
    with pytest.raises(CoderApiError, match="remove the role first"):
        owner.suspend_user(user.id)
    owner.update_roles(user.id, [])
    assert owner.suspend_user(user.id).suspended is True


def test_delete_user_is_refused_with_workspaces_and_false_when_already_gone(
    owner: CoderClient, double: CoderDouble
) -> None:
    user = owner.create_user("dave", "dave@corp.test", login_type="oidc")
    double.give_workspaces("dave", 2)
    with pytest.raises(CoderUserInUseError) as raised:
        owner.delete_user(user.id, username="dave")
    assert raised.value.username == "dave" and raised.value.status == 417
    double.user_workspaces.clear()
    assert owner.delete_user(user.id) is True
    assert owner.delete_user(user.id) is False
    assert owner.get_user(user.id) is None


def test_update_password_succeeds_when_the_password_is_already_the_wanted_one(
    owner: CoderClient, double: CoderDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = owner.create_user(
        "erin", "erin@corp.test", login_type="password", password=USER_PASSWORD
    )
    owner.update_password(user.id, USER_PASSWORD)
    owner.update_password(user.id, USER_PASSWORD + "-2")
    assert double.user_named("erin").password == USER_PASSWORD + "-2"
    assert USER_PASSWORD not in caplog.text


# -- entitlements and groups ----------------------------------------------------------------------


def test_every_group_route_is_not_entitled_without_template_rbac(
    owner: CoderClient, double: CoderDouble
) -> None:
    assert owner.entitlements().allows("template_rbac") is False
    with pytest.raises(CoderNotEntitledError) as raised:
        owner.create_group("default", "devs")
    assert raised.value.feature == "template_rbac"
    assert "Template RBAC is a Premium feature" in str(raised.value)
    for call in (
        lambda: owner.get_group("00000000-0000-4000-8000-000000000001"),
        lambda: owner.get_group_by_name("default", "devs"),
        lambda: owner.delete_group("00000000-0000-4000-8000-000000000001"),
    ):
        with pytest.raises(CoderNotEntitledError):
            call()


def test_a_license_that_grants_template_rbac_turns_the_entitlement_on(
    owner: CoderClient, double: CoderDouble
) -> None:
    owner.add_license(license_jwt(features={"template_rbac": 1}))
    entitlements = owner.entitlements()
    assert entitlements.has_license is True
    assert entitlements.allows("template_rbac") is True
    assert entitlements.allows("audit_log") is False


def test_groups_are_created_patched_read_and_deleted_when_entitled(
    owner: CoderClient, double: CoderDouble
) -> None:
    double.entitle("template_rbac")
    alice = owner.create_user("alice", "alice@corp.test", login_type="oidc")
    bob = owner.create_user("bob", "bob@corp.test", login_type="oidc")
    group = owner.create_group("default", "devs", display_name="Devs", quota_allowance=5)
    assert (group.display_name, group.quota_allowance, group.members) == ("Devs", 5, [])
    with pytest.raises(CoderConflictError):
        owner.create_group("default", "devs")
    patched = owner.patch_group_members(group.id, [alice.id, bob.id], [])
    assert patched.member_usernames == ["alice", "bob"]
    patched = owner.update_group(group.id, quota_allowance=0, remove_users=[bob.id])
    assert (patched.quota_allowance, patched.member_usernames) == (0, ["alice"])
    assert owner.get_group_by_name("default", "devs") == patched
    assert owner.delete_group(group.id) is True
    assert owner.get_group(group.id) is None
    assert owner.delete_group(group.id) is False


# -- licenses -------------------------------------------------------------------------------------


def test_licenses_are_listed_by_claims_never_by_jwt_and_deleted_once(
    owner: CoderClient, double: CoderDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    jwt = license_jwt(features={"template_rbac": 1})
    added = owner.add_license(jwt)
    listed = owner.list_licenses()
    assert [lic.id for lic in listed] == [added.id]
    assert listed[0].claims == license_claims(jwt)
    assert listed[0].expires_at is not None and listed[0].expires_at.year == 2027
    assert owner.delete_license(added.id) is True
    assert owner.delete_license(added.id) is False
    assert jwt not in caplog.text


def test_an_invalid_license_is_refused_without_echoing_it(owner: CoderClient) -> None:
    with pytest.raises(CoderApiError) as raised:
        owner.add_license("not-a-jwt-Zx81k2")
    assert raised.value.status == 400 and "Invalid license" in str(raised.value)
    assert "not-a-jwt-Zx81k2" not in str(raised.value)


def test_license_claims_are_none_when_the_text_is_not_a_jwt() -> None:
    assert license_claims("a.b") is None
    assert license_claims("a.!!!.c") is None
    assert license_claims(license_jwt(account_id="x"))["account_id"] == "x"  # type: ignore[index]


def test_a_reset_drops_users_groups_and_licenses_when_the_double_is_wiped(
    owner: CoderClient, double: CoderDouble
) -> None:
    owner.add_license(license_jwt(features={"template_rbac": 1}))
    owner.create_user("alice", "alice@corp.test", login_type="oidc")
    owner.create_group("default", "devs")
    double.wipe()
    assert (double.users, double.groups, double.licenses) == ({}, {}, {})
    assert double.allows("template_rbac") is False


@pytest.mark.parametrize(
    ("claims", "feature", "granted"),
    [
        ({"feature_set": "premium"}, "service_accounts", True),
        ({"feature_set": "premium"}, "template_rbac", True),
        ({"feature_set": "enterprise"}, "service_accounts", False),
        ({"all_features": True}, "service_accounts", False),
        ({"all_features": True}, "template_rbac", True),
        ({"features": {"service_accounts": 1}}, "service_accounts", True),
        ({"features": {"template_rbac": 0}}, "template_rbac", False),
        ({}, "template_rbac", False),
    ],
)
def test_license_claims_grant_what_coderd_reads_from_their_feature_set_and_features(
    claims: dict[str, Any], feature: str, granted: bool
) -> None:
    assert claims_grant(claims, feature) is granted
