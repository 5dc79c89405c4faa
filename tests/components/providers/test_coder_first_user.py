"""CoderFirstUser: the provider against the in-process double, the resource under mocks.

Contract clauses: C1 (bad inputs named, values never echoed), C2 (one POST /users/first ever; an
existing first user is success), C3 (a database reset makes ``read`` report the user gone).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from coder_platform.coder_api import CoderApiError, CoderAuthError, CoderClient
from components.providers.coder_first_user import (
    CoderFirstUser,
    CoderFirstUserArgs,
    CoderFirstUserProvider,
)
from testbed.coder_double import BASE_URL, CoderDouble, FakeClock
from testbed.harness import CapturedOptions, is_secret, reveal, run_component

PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"
TYPE = "pulumi-python:dynamic/coder:CoderFirstUser"


def inputs(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "url": BASE_URL,
        "email": "automation@coder-platform.test",
        "username": "coder-automation",
        "full_name": "Coder Automation",
        "password": PASSWORD,
        "__provider": "pickled-provider",
    }
    props.update(overrides)
    return props


@pytest.fixture
def double() -> CoderDouble:
    return CoderDouble()


@pytest.fixture
def provider(double: CoderDouble) -> CoderFirstUserProvider:
    return CoderFirstUserProvider(
        lambda url: CoderClient(url, transport=double.transport(), clock=FakeClock())
    )


def test_create_posts_the_first_user_once_when_coder_has_none(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    result = provider.create(inputs())
    [user] = double.users.values()
    assert result.id == user.id
    assert result.outs is not None
    assert result.outs["user_id"] == user.id
    assert (user.username, user.roles) == ("coder-automation", ["owner"])
    assert "__provider" not in result.outs
    assert double.count("POST", "/users/first") == 1


def test_create_succeeds_without_a_second_post_when_the_first_user_exists(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    first = provider.create(inputs())
    again = provider.create(inputs())
    assert again.id == first.id
    assert double.count("POST", "/users/first") == 1
    assert double.sessions == {}, "the login used to adopt the user is logged out"


def test_create_treats_409_as_success_when_another_writer_won_the_race(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    provider.create(inputs())
    double.fail_next(404)  # GET /users/first answers "none" while the user already exists
    result = provider.create(inputs())
    assert result.id == next(iter(double.users))
    assert double.count("POST", "/users/first") == 2  # the second one answered 409


def test_create_fails_clearly_when_the_first_user_is_not_the_automation_identity(
    provider: CoderFirstUserProvider, double: CoderDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    provider.create(inputs(password="someone-Else-Pw-31f7a9"))
    with pytest.raises(CoderAuthError) as raised:
        provider.create(inputs())
    assert "dedicated automation identity" in str(raised.value)
    for secret in [PASSWORD, "someone-Else-Pw-31f7a9", *double.secrets_seen()]:
        assert secret not in f"{raised.value} {raised.value!r} {caplog.text}"


def test_create_fails_clearly_when_the_username_does_not_match_the_owner(
    provider: CoderFirstUserProvider,
) -> None:
    provider.create(inputs())
    with pytest.raises(CoderApiError, match="fix username"):
        provider.create(inputs(username="renamed"))


def test_read_reports_gone_when_the_coder_database_was_reset(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    created = provider.create(inputs())
    double.wipe()
    result = provider.read(created.id, {**inputs(), "user_id": created.id})
    assert result.id == ""
    assert result.outs == {}


def test_read_keeps_the_user_without_writing_when_the_first_user_exists(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    created = provider.create(inputs())
    writes = double.writes()
    result = provider.read(created.id, {**inputs(), "user_id": created.id})
    assert result.id == created.id
    assert result.outs is not None
    assert result.outs["user_id"] == created.id
    assert double.writes() == writes


def test_reset_then_create_restores_the_user_when_refresh_found_it_gone(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    provider.create(inputs())
    double.wipe()
    recreated = provider.create(inputs())
    assert list(double.users) == [recreated.id]
    assert double.count("POST", "/users/first") == 2


def test_check_names_each_bad_field_without_its_value_when_inputs_are_invalid(
    provider: CoderFirstUserProvider,
) -> None:
    bad = inputs(url="coder.internal", email="nobody", username="-bad-", password="short-7")
    result = provider.check({}, bad)
    assert sorted(f.property for f in result.failures) == ["email", "password", "url", "username"]
    reasons = " ".join(f.reason for f in result.failures)
    for value in ("coder.internal", "nobody", "-bad-", "short-7"):
        assert value not in reasons


def test_check_passes_when_inputs_are_valid_or_not_yet_known(
    provider: CoderFirstUserProvider,
) -> None:
    from pulumi.runtime.rpc import UNKNOWN

    assert provider.check({}, inputs()).failures == []
    assert provider.check({}, inputs(password=UNKNOWN, url=UNKNOWN)).failures == []


def test_create_refuses_to_call_coder_when_inputs_are_invalid(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    with pytest.raises(ValueError, match="password") as raised:
        provider.create(inputs(password=""))
    assert double.requests == []
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("url", "https://other.test"), ("email", "other@x.test"), ("username", "other-bot")],
)
def test_diff_replaces_when_the_identity_changes(
    provider: CoderFirstUserProvider, field: str, value: str
) -> None:
    olds = {**inputs(), "user_id": "u1"}
    news = inputs(**{field: value})
    result = provider.diff("u1", olds, news)
    assert result.changes is True
    assert result.replaces == [field]


def test_diff_updates_in_place_when_only_the_password_changes(
    provider: CoderFirstUserProvider,
) -> None:
    result = provider.diff("u1", {**inputs(), "user_id": "u1"}, inputs(password="new-Pw-1234567"))
    assert (result.changes, result.replaces) == (True, [])


def test_diff_reports_no_change_when_inputs_are_unchanged(
    provider: CoderFirstUserProvider,
) -> None:
    result = provider.diff("u1", {**inputs(), "user_id": "u1"}, inputs())
    assert (result.changes, result.replaces) == (False, [])


def test_update_verifies_the_identity_when_its_name_changes(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    created = provider.create(inputs())
    writes = double.count("POST", "/users/first")
    result = provider.update(created.id, inputs(), inputs(full_name="Platform Automation"))
    assert result.outs is not None
    assert result.outs["user_id"] == created.id
    assert double.count("POST", "/users/first") == writes


def test_delete_leaves_the_owner_in_coder_when_the_resource_is_removed(
    provider: CoderFirstUserProvider, double: CoderDouble
) -> None:
    created = provider.create(inputs())
    provider.delete(created.id, inputs())
    assert list(double.users) == [created.id]


def test_resource_registers_its_type_token_and_keeps_the_password_secret_when_declared() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderFirstUser(
            "first-user",
            CoderFirstUserArgs(
                url=BASE_URL,
                email="automation@coder-platform.test",
                username="coder-automation",
                full_name="Coder Automation",
                password=PASSWORD,
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["password"])
    assert reveal(registered.inputs["password"]) == PASSWORD
    assert registered.inputs["username"] == "coder-automation"
    assert "__provider" in registered.inputs
    assert capture.opts("first-user").additional_secret_outputs == ["password"]
