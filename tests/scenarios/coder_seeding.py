"""One list of seeding scenarios, run against the Coder double (unit tier) and a real Coder (e2e).

A double is trusted only where the same scenario passes against the real server: each scenario
drives the providers and the client through HTTP only (hand changes too, as an admin would make
them), so the same function runs against either. Where the two disagree, the double changes.

The facts each scenario pins come from Coder 2.36's handlers: ``coderd/users.go`` (``postUser``:
service accounts have neither email nor password and need the ``service_accounts``
entitlement; ``github`` is a login type an admin may create), ``coderd/httpmw/userparam.go``
(a lookup by id still finds a deleted user, by username never), ``coderd/httpapi`` (``Read``
answers "Validation failed." with ``validations[]``), ``codersdk/organizations.go``
(``CreateTemplateRequest.description``: ``lt=128``), ``coderd/users.go`` ``putUserRoles`` with
``enterprise/coderd/enidpsync/role.go`` (site role sync: the OIDC user role field set AND the
``user_role_management`` entitlement; then an OIDC user's site roles cannot be set at all).

``ROLE_SYNC_SCENARIOS`` run against a Coder whose OIDC user role field is set
(``CODER_OIDC_USER_ROLE_FIELD``): with the license, role sync is on; without, it is not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from coder_platform.coder_api import CoderApiError, CoderClient, CoderRoleSyncError
from coder_platform.coder_api.templates import TemplateMeta
from coder_platform.contracts import (
    OIDC_USER_ROLE_FIELD_ENV,
    SERVICE_ACCOUNTS_FEATURE,
    TEMPLATE_ACCESS_FEATURE,
    USER_ROLE_MANAGEMENT_FEATURE,
)
from coder_platform.template_archive import build_archive
from components.providers.coder_template_access import (
    CoderTemplateAccessProvider,
    TemplateAccessNotEntitledError,
)
from components.providers.coder_template_checks import template_failures
from components.providers.coder_user import (
    CoderUserProvider,
    ServiceAccountsNotEntitledError,
    UserGoneError,
    UserNotAdoptableError,
    UserRefusedError,
)
from components.providers.common import ClientFactory

PASSWORD = "scenario-Pw-4d1c9e7a"
# A template both Coders import: the real one offline (only the coder provider, mirrored).
TEMPLATE_DIRECTORY = Path(__file__).resolve().parents[2] / "localplatform" / "templates" / "hello"


@dataclass
class CoderUnderTest:
    """A Coder (double or real) as the scenarios see it: where it is, an owner's token, and how
    a client reaches it (None: over the network, as the program does)."""

    url: str
    token: str
    client_factory: ClientFactory | None
    suffix: str  # keeps usernames of one run apart from another's on a long-lived Coder

    def admin(self) -> CoderClient:
        client = self.client_factory(self.url) if self.client_factory else CoderClient(self.url)
        client.authenticate(self.token)
        return client

    def users(self) -> CoderUserProvider:
        return CoderUserProvider(self.client_factory)

    def site_roles(self, username: str) -> list[str]:
        with self.admin() as client:
            live = client.get_user(username)
        assert live is not None, f"no user {username}"
        return live.site_roles

    def user_inputs(self, username: str, **overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "url": self.url,
            "token": self.token,
            "username": username,
            "email": f"{username}@scenarios.test",
            "name": "",
            "login_type": "password",
            "password": PASSWORD,
            "roles": [],
            "suspended": False,
            "on_delete": "suspend",
        }
        return props | overrides

    def entitled(self, feature: str) -> bool:
        with self.admin() as client:
            return client.entitlements().allows(feature)

    def name(self, stem: str) -> str:
        return f"{stem}-{self.suffix}"

    def snapshot(self) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
        """Every live user as Coder lists it: a write of any kind changes this."""
        with self.admin() as client:
            return sorted(
                (u.username, u.email, u.login_type, u.status, tuple(u.site_roles))
                for u in client.list_users()
            )

    def counted(self) -> tuple[ClientFactory, Callable[[], int]]:
        """A client factory whose clients' write requests are summed by the second function."""
        opened: list[CoderClient] = []

        def factory(url: str) -> CoderClient:
            client = self.client_factory(url) if self.client_factory else CoderClient(url)
            opened.append(client)
            return client

        return factory, lambda: sum(client.write_count for client in opened)

    def hand_template(self, name: str, *, closed: bool) -> str:
        """A template pushed by hand (the API calls ``coder templates push`` makes)."""
        with self.admin() as client:
            file_id = client.upload_file(build_archive(TEMPLATE_DIRECTORY).data)
            version = client.create_template_version("default", file_id)
            client.wait_for_version_job(version.id, deadline_seconds=120)
            template = client.create_template(
                "default", name, version.id, TemplateMeta(), disable_everyone_group_access=closed
            )
        return template.id

    def acl(self, template_id: str) -> dict[str, str]:
        """The template's ACL as an admin reads it: ``group:<name>`` / ``user:<name>`` -> role."""
        with self.admin() as client:
            acl = client.get_template_acl(template_id)
        assert acl is not None
        return {f"group:{g.name}": g.role for g in acl.groups} | {
            f"user:{u.username}": u.role for u in acl.users
        }

    def hand_create(self, username: str, *, email: str, login_type: str = "password") -> str:
        """A user made by hand (or by a sign-up), outside the stack; returns its id."""
        with self.admin() as client:
            password = PASSWORD if login_type == "password" else None
            return client.create_user(username, email, login_type=login_type, password=password).id


def new_suffix() -> str:
    return uuid.uuid4().hex[:6]


@contextmanager
def unchanged(coder: CoderUnderTest) -> Iterator[None]:
    """The block leaves Coder's users exactly as they were."""
    before = coder.snapshot()
    yield
    assert coder.snapshot() == before, "Coder's users changed"


# -- the scenarios ------------------------------------------------------------------------------


def a_validation_error_names_the_field_coder_rejected(coder: CoderUnderTest) -> None:
    with coder.admin() as client, pytest.raises(CoderApiError) as raised:
        client.create_user(
            coder.name("bad_name!"), "v@scenarios.test", login_type="password", password=PASSWORD
        )
    text = str(raised.value)
    assert raised.value.status == 400
    assert "Validation failed." in text and "username:" in text and PASSWORD not in text


def a_template_description_of_128_characters_is_refused_by_check_and_by_coder(
    coder: CoderUnderTest,
) -> None:
    too_long = "d" * 128

    def description_failures(description: str) -> list[str]:
        failures = template_failures({"description": description})
        return [f.property for f in failures if f.property == "description"]

    assert description_failures(too_long) == ["description"]
    assert description_failures(too_long[:127]) == []
    with coder.admin() as client, pytest.raises(CoderApiError) as raised:
        meta = TemplateMeta(description=too_long)
        client.create_template("default", coder.name("desc"), str(uuid.uuid4()), meta)
    assert raised.value.status == 400 and "description:" in str(raised.value)


def a_user_deleted_by_hand_is_gone_for_update_and_delete(coder: CoderUnderTest) -> None:
    provider, username = coder.users(), coder.name("tomb")
    created = provider.create(coder.user_inputs(username))
    assert created.outs is not None
    with coder.admin() as client:
        client.delete_user(created.id, username=username)
        assert client.get_user(created.id) is None, "a tombstone was taken for a live user"
    with pytest.raises(UserGoneError, match=username):
        provider.update(created.id, created.outs, coder.user_inputs(username, name="Renamed"))
    with unchanged(coder):
        provider.delete(created.id, created.outs)
        provider.delete(created.id, {**created.outs, "on_delete": "delete"})
    assert provider.read(created.id, created.outs).id == "", "read says it is gone"


def a_user_with_the_username_but_another_email_is_not_adopted(coder: CoderUnderTest) -> None:
    provider, username = coder.users(), coder.name("signup")
    coder.hand_create(username, email=f"{username}@elsewhere.test")
    with unchanged(coder), pytest.raises(UserNotAdoptableError) as raised:
        provider.create(coder.user_inputs(username, roles=["owner"]))
    text = str(raised.value)
    assert username in text and "another email" in text and "Nothing was changed" in text


def a_user_with_the_username_and_the_email_is_adopted(coder: CoderUnderTest) -> None:
    provider, username = coder.users(), coder.name("adopt")
    user_id = coder.hand_create(username, email=f"{username}@scenarios.test")
    created = provider.create(coder.user_inputs(username, roles=["auditor"]))
    assert created.id == user_id
    with coder.admin() as client:
        live = client.get_user(username)
    assert live is not None and live.site_roles == ["auditor"]


def a_service_account_is_created_without_email_only_when_entitled(
    coder: CoderUnderTest,
) -> None:
    """Without the entitlement: refused before any write. With it (a license): created with
    neither email nor password, and converged."""
    provider, username = coder.users(), coder.name("robot")
    inputs = coder.user_inputs(username, login_type="none", email=None, password=None)
    assert provider.check({}, inputs).failures == []
    if not coder.entitled(SERVICE_ACCOUNTS_FEATURE):
        with unchanged(coder), pytest.raises(ServiceAccountsNotEntitledError) as raised:
            provider.create(inputs)
        assert "service_accounts" in str(raised.value) and username in str(raised.value)
        return
    created = provider.create(inputs)
    assert created.outs is not None
    assert (created.outs["login_type"], created.outs["email"]) == ("none", "")
    read = provider.read(created.id, created.outs)
    assert read.outs is not None and not provider.diff(created.id, read.outs, inputs).changes


def a_github_user_is_created_with_that_login_type(coder: CoderUnderTest) -> None:
    provider, username = coder.users(), coder.name("gh")
    inputs = coder.user_inputs(username, login_type="github", password=None)
    created = provider.create(inputs)
    assert created.outs is not None and created.outs["login_type"] == "github"
    read = provider.read(created.id, created.outs)
    assert read.outs is not None
    assert not provider.diff(created.id, read.outs, inputs).changes


def unset_roles_are_never_compared_or_written(coder: CoderUnderTest) -> None:
    provider, username = coder.users(), coder.name("idp")
    inputs = coder.user_inputs(username, roles=None)
    created = provider.create(inputs)
    assert created.outs is not None
    with coder.admin() as client:
        client.update_roles(created.id, ["template-admin"], username=username)
    read = provider.read(created.id, created.outs)
    assert read.outs is not None
    assert not provider.diff(created.id, read.outs, inputs).changes
    with unchanged(coder):
        provider.update(created.id, read.outs, {**inputs, "name": ""})


def template_access_changed_by_hand_is_taken_back_and_converged_writes_nothing(
    coder: CoderUnderTest,
) -> None:
    """coderd's ACL routes (template_rbac): a template created closed grants Everyone nothing;
    the declared access is set in one PATCH; entries changed, added and removed by hand are
    taken back; a converged ACL reads without a diff and writes nothing. Without the
    entitlement: refused before any write."""
    team, template = coder.name("acl-team"), coder.name("acl")
    template_id = coder.hand_template(template, closed=True)
    factory, writes = coder.counted()
    provider = CoderTemplateAccessProvider(factory)
    with coder.admin() as client:
        live = client.get_template(template_id)
    assert live is not None
    organization_id, group_id = live.organization_id, None
    inputs: dict[str, Any] = {
        "url": coder.url,
        "token": coder.token,
        "organization": "default",
        "template": template,
        "template_id": template_id,
        "organization_id": organization_id,
        "groups": {team: "admin"},
        "users": {},
        "everyone": "use",
    }
    try:
        if not coder.entitled(TEMPLATE_ACCESS_FEATURE):
            with pytest.raises(TemplateAccessNotEntitledError) as refused:
                provider.create(inputs)
            assert TEMPLATE_ACCESS_FEATURE in str(refused.value) and writes() == 0
            return
        with coder.admin() as client:
            group_id = client.create_group("default", team).id
        assert coder.acl(template_id) == {}, "created closed: Everyone has no access"
        created = provider.create(inputs)
        assert created.outs is not None
        assert coder.acl(template_id) == {"group:Everyone": "use", f"group:{team}": "admin"}
        robot = coder.name("acl-user")
        user_id = coder.hand_create(robot, email=f"{robot}@scenarios.test")
        with coder.admin() as client:
            client.update_template_acl(
                template_id,
                group_perms={group_id: "use", organization_id: ""},
                user_perms={user_id: "admin"},
            )
        read = provider.read(template_id, created.outs)
        assert read.outs is not None
        assert (read.outs["groups"], read.outs["users"], read.outs["everyone"]) == (
            {team: "use"},
            {robot: "admin"},
            "none",
        )
        assert provider.diff(template_id, read.outs, inputs).changes
        before = writes()
        provider.update(template_id, read.outs, inputs)
        assert writes() - before == 1, "taken back in one PATCH"
        assert coder.acl(template_id) == {"group:Everyone": "use", f"group:{team}": "admin"}
        converged = provider.read(template_id, created.outs)
        assert converged.outs is not None
        assert not provider.diff(template_id, converged.outs, inputs).changes
        before = writes()
        provider.update(template_id, converged.outs, inputs)
        assert writes() == before, "a converged ACL writes nothing"
    finally:
        with coder.admin() as client:
            client.delete_template(template_id, template)
            if group_id is not None:
                client.delete_group(group_id)


SCENARIOS: list[Callable[[CoderUnderTest], None]] = [
    a_validation_error_names_the_field_coder_rejected,
    a_template_description_of_128_characters_is_refused_by_check_and_by_coder,
    a_user_deleted_by_hand_is_gone_for_update_and_delete,
    a_user_with_the_username_but_another_email_is_not_adopted,
    a_user_with_the_username_and_the_email_is_adopted,
    a_service_account_is_created_without_email_only_when_entitled,
    a_github_user_is_created_with_that_login_type,
    unset_roles_are_never_compared_or_written,
    template_access_changed_by_hand_is_taken_back_and_converged_writes_nothing,
]


# -- under the IdP's site role sync (a Coder whose OIDC user role field is set) --------------------


def _refused_by_role_sync(text: str, username: str) -> None:
    """The provider's error names the user, Coder's reason and both fixes."""
    assert repr(username) in text and "role sync" in text
    assert "Remove roles" in text and OIDC_USER_ROLE_FIELD_ENV in text


def an_oidc_users_roles_are_refused_only_for_oidc_users_while_role_sync_is_on(
    coder: CoderUnderTest,
) -> None:
    """coderd refuses ``PUT /users/{u}/roles`` for an OIDC user as its first check (400; even
    an empty list): the provider's update fails naming the user and the fix, after that one
    refused request, and Coder is unchanged. A password user's roles are still the stack's.
    With the field set but no ``user_role_management`` (no license), roles are written."""
    factory, writes = coder.counted()
    provider = CoderUserProvider(factory)
    person, robot = coder.name("idp"), coder.name("pw")
    inputs = coder.user_inputs(person, login_type="oidc", password=None, roles=None)
    created = provider.create(inputs)
    assert created.outs is not None
    declared = {**inputs, "roles": ["auditor"]}
    if not coder.entitled(USER_ROLE_MANAGEMENT_FEATURE):
        provider.update(created.id, created.outs, declared)
        assert coder.site_roles(person) == ["auditor"], "no license: role sync is off"
        return
    with coder.admin() as client, unchanged(coder):
        for roles in (["auditor"], []):
            with pytest.raises(CoderRoleSyncError) as refused:
                client.update_roles(created.id, roles, username=person)
            assert refused.value.status == 400
            assert refused.value.message == (
                "Cannot modify roles for OIDC users when role sync is enabled."
            )
    before = writes()
    with unchanged(coder), pytest.raises(UserRefusedError) as raised:
        provider.update(created.id, created.outs, declared)
    _refused_by_role_sync(str(raised.value), person)
    assert writes() - before == 1, "the refused PUT, and nothing after it"
    password_user = provider.create(coder.user_inputs(robot, roles=["auditor"]))
    assert password_user.outs is not None and password_user.outs["roles"] == ["auditor"]
    assert coder.site_roles(robot) == ["auditor"]


def an_oidc_user_created_with_roles_under_role_sync_is_adopted_once_roles_are_unset(
    coder: CoderUnderTest,
) -> None:
    """A fresh OIDC user with declared roles: Coder creates it (POST), then refuses its roles;
    the create fails naming the user and the fix. With ``roles`` unset (the IdP owns them) the
    same account is adopted without a write, and a converged read diffs nothing."""
    factory, writes = coder.counted()
    provider = CoderUserProvider(factory)
    person = coder.name("idp-new")
    inputs = coder.user_inputs(person, login_type="oidc", password=None, roles=["auditor"])
    if not coder.entitled(USER_ROLE_MANAGEMENT_FEATURE):
        created = provider.create(inputs)
        assert created.outs is not None and created.outs["roles"] == ["auditor"]
        return
    with pytest.raises(UserRefusedError) as raised:
        provider.create(inputs)
    _refused_by_role_sync(str(raised.value), person)
    assert writes() == 2, "POST /users, then the refused PUT: nothing after it"
    assert coder.site_roles(person) == []
    unset = {**inputs, "roles": None}
    with unchanged(coder):
        adopted = provider.create(unset)
    assert adopted.outs is not None and writes() == 2, "adopted without a write"
    read = provider.read(adopted.id, adopted.outs)
    assert read.outs is not None and not provider.diff(adopted.id, read.outs, unset).changes


ROLE_SYNC_SCENARIOS: list[Callable[[CoderUnderTest], None]] = [
    an_oidc_users_roles_are_refused_only_for_oidc_users_while_role_sync_is_on,
    an_oidc_user_created_with_roles_under_role_sync_is_adopted_once_roles_are_unset,
]
