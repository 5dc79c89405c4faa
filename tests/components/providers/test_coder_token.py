"""CoderApiToken: minting inside the cap, rotation, gone-detection and secrecy, against the double.

Contract clauses: C1 (inputs and the lifetime cap fail before any write, naming the field), C2
(409 resolved deterministically; delete of a missing token is success; read writes nothing; no
secret in a log or message), C3 (a revoked token or a database reset reads as gone).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pulumi
import pytest

from coder_platform.coder_api import CoderApiError, CoderClient, CoderUnreachableError
from components.providers.coder_token import CoderApiToken, CoderApiTokenArgs, CoderApiTokenProvider
from testbed.coder_double import BASE_URL, FIXED_NOW, CoderDouble, FakeClock
from testbed.harness import CapturedOptions, is_secret, run_component

EMAIL = "automation@coder-platform.test"
USERNAME = "coder-automation"
PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"
TYPE = "pulumi-python:dynamic/coder:CoderApiToken"


def inputs(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "url": BASE_URL,
        "email": EMAIL,
        "password": PASSWORD,
        "username": USERNAME,
        "token_name": "coder-platform-runner",
        "lifetime_hours": 168.0,  # the engine sends numbers as floats
        "rotation_window_hours": 24.0,
        "__provider": "pickled-provider",
    }
    props.update(overrides)
    return props


class Now:
    """The provider's injectable clock, fixed until a test moves it."""

    def __init__(self) -> None:
        self.value = FIXED_NOW

    def __call__(self) -> datetime:
        return self.value


@pytest.fixture
def double() -> CoderDouble:
    coder = CoderDouble()
    with CoderClient(BASE_URL, transport=coder.transport()) as client:
        client.create_first_user(EMAIL, USERNAME, "Coder Automation", PASSWORD)
    return coder


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def provider(double: CoderDouble, now: Now) -> CoderApiTokenProvider:
    return CoderApiTokenProvider(
        lambda url: CoderClient(url, transport=double.transport(), clock=FakeClock()), clock=now
    )


def created(provider: CoderApiTokenProvider, **overrides: Any) -> tuple[str, dict[str, Any]]:
    result = provider.create(inputs(**overrides))
    assert result.outs is not None
    return result.id, result.outs


def test_create_mints_a_token_that_authenticates_when_inputs_are_valid(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    key = double.keys[key_id]
    assert outs["token"] == key.token
    assert outs["key_id"] == key_id
    assert outs["expires_at"] == (FIXED_NOW + timedelta(hours=168)).isoformat()
    assert key.lifetime_seconds == 168 * 3600
    with CoderClient(BASE_URL, outs["token"], transport=double.transport()) as client:
        assert client.me().username == USERNAME
    assert double.sessions == {}, "the password session is logged out after minting"


def test_create_fails_before_minting_when_lifetime_exceeds_the_server_cap(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    with pytest.raises(CoderApiError) as raised:
        provider.create(inputs(lifetime_hours=200))
    text = str(raised.value)
    assert "lifetime_hours (200)" in text
    assert "168h" in text
    assert "CODER_MAX_ADMIN_TOKEN_LIFETIME" in text
    assert double.count("POST", f"/users/{USERNAME}/keys/tokens") == 0


def test_create_mints_when_the_cap_was_raised_for_a_long_lived_token(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    double.max_admin_token_lifetime = timedelta(hours=8760)
    key_id, _ = created(provider, lifetime_hours=720, rotation_window_hours=72)
    assert double.keys[key_id].lifetime_seconds == 720 * 3600


def test_create_replaces_the_stale_token_deterministically_when_the_name_is_taken(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    stale_id, stale = created(provider)  # e.g. minted by a run killed before it saved state
    fresh_id, fresh = created(provider)  # the same minute: the same minted name
    assert fresh_id != stale_id
    assert list(double.keys) == [fresh_id]
    assert fresh["token"] != stale["token"]
    assert double.count("DELETE", f"/users/{USERNAME}/keys/{stale_id}") == 1


@pytest.mark.parametrize("elapsed_hours", [0, 143, 144])  # 168h, 25h, exactly 24h left
def test_diff_keeps_the_token_when_outside_the_rotation_window(
    provider: CoderApiTokenProvider, now: Now, elapsed_hours: int
) -> None:
    key_id, outs = created(provider)
    now.value = FIXED_NOW + timedelta(hours=elapsed_hours)
    result = provider.diff(key_id, outs, inputs())
    assert (result.changes, result.replaces) == (False, [])


def test_diff_replaces_the_token_when_inside_the_rotation_window(
    provider: CoderApiTokenProvider, now: Now
) -> None:
    key_id, outs = created(provider)
    now.value = FIXED_NOW + timedelta(hours=145)  # 23h left, window 24h
    result = provider.diff(key_id, outs, inputs())
    assert result.changes is True
    assert result.replaces == ["expires_at"]
    assert result.delete_before_replace is False  # mint (and publish) first, revoke last


@pytest.mark.parametrize(
    ("field", "value"),
    [("token_name", "renamed"), ("username", "other-bot"), ("lifetime_hours", 96.0)],
)
def test_diff_replaces_the_token_when_what_it_is_changes(
    provider: CoderApiTokenProvider, field: str, value: Any
) -> None:
    key_id, outs = created(provider)
    result = provider.diff(key_id, outs, inputs(**{field: value}))
    assert result.replaces == [field]


def test_diff_updates_in_place_when_only_the_password_or_window_changes(
    provider: CoderApiTokenProvider,
) -> None:
    key_id, outs = created(provider)
    result = provider.diff(
        key_id, outs, inputs(password="new-Pw-1234567", rotation_window_hours=48)
    )
    assert (result.changes, result.replaces) == (True, [])


def test_update_keeps_the_token_and_writes_nothing_when_only_the_password_changes(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    writes = double.writes()
    result = provider.update(key_id, outs, inputs(password="new-Pw-1234567"))
    assert result.outs is not None
    assert (result.outs["token"], result.outs["key_id"]) == (outs["token"], key_id)
    assert result.outs["password"] == "new-Pw-1234567"
    assert double.writes() == writes


def test_rotation_mints_the_new_token_while_the_old_one_still_works_then_revokes_it(
    provider: CoderApiTokenProvider, double: CoderDouble, now: Now
) -> None:
    old_id, old = created(provider)
    now.value = double.now = FIXED_NOW + timedelta(hours=150)
    assert provider.diff(old_id, old, inputs()).replaces == ["expires_at"]

    new_id, new = created(provider)  # create-before-delete: the engine creates first
    both = set(double.keys)
    with CoderClient(BASE_URL, old["token"], transport=double.transport()) as client:
        assert client.me().username == USERNAME  # what Vault still publishes keeps working
    provider.delete(old_id, old)  # ... until dependents have the new token: then it goes

    assert both == {old_id, new_id}
    assert new["minted_name"] != old["minted_name"]
    assert list(double.keys) == [new_id]
    assert datetime.fromisoformat(new["expires_at"]) == now.value + timedelta(hours=168)
    assert provider.read(old_id, old).id == ""


def test_read_refreshes_expiry_without_writing_when_the_token_is_alive(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    writes = double.writes()
    result = provider.read(key_id, {**outs, "expires_at": "stale"})
    assert result.id == key_id
    assert result.outs is not None
    assert result.outs["expires_at"] == outs["expires_at"]
    assert double.writes() == writes


def test_read_reports_gone_when_the_token_was_deleted_out_of_band(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    del double.keys[key_id]
    result = provider.read(key_id, outs)
    assert (result.id, result.outs) == ("", {})


def test_read_reports_gone_when_the_coder_database_was_reset(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    double.wipe()
    assert provider.read(key_id, outs).id == ""


def test_read_reports_gone_when_the_token_has_expired(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    double.now = FIXED_NOW + timedelta(hours=169)
    assert provider.read(key_id, outs).id == ""


def test_delete_revokes_the_token_when_it_exists(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    provider.delete(key_id, outs)
    assert double.keys == {}
    assert double.count("POST", "/users/login") == 1, "the token deletes itself, no login"


def test_delete_succeeds_when_the_token_is_already_gone(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    del double.keys[key_id]
    provider.delete(key_id, outs)  # the dead token gets 401, the login's DELETE gets 404: success
    assert double.count("DELETE", f"/users/{USERNAME}/keys/{key_id}") == 2
    assert double.sessions == {}


def test_delete_succeeds_when_the_coder_database_was_reset(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    key_id, outs = created(provider)
    double.wipe()
    requests_before = len(double.requests)
    provider.delete(key_id, outs)  # the dead token and a failed login: nothing left to delete
    assert double.requests[requests_before:] == [
        ("DELETE", f"/users/{USERNAME}/keys/{key_id}"),
        ("POST", "/users/login"),
    ]
    assert double.users == {} and double.keys == {}


def test_create_raises_unreachable_after_bounded_retries_when_coder_is_down(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    double.fail_next(502, times=5)
    with pytest.raises(CoderUnreachableError):
        provider.create(inputs())
    assert len([r for r in double.requests if r == ("POST", "/users/login")]) == 5


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lifetime_hours": 0}, "lifetime_hours"),
        ({"lifetime_hours": 1.5}, "lifetime_hours"),
        ({"rotation_window_hours": 0}, "rotation_window_hours"),
        ({"rotation_window_hours": 168}, "rotation_window_hours"),
        ({"token_name": ""}, "token_name"),
        ({"password": ""}, "password"),
    ],
)
def test_check_names_the_field_when_an_input_is_invalid(
    provider: CoderApiTokenProvider, overrides: dict[str, Any], field: str
) -> None:
    failures = provider.check({}, inputs(**overrides)).failures
    assert field in [f.property for f in failures]
    assert all(f.reason.startswith(f"{f.property}:") for f in failures)


def test_check_passes_when_inputs_are_valid(provider: CoderApiTokenProvider) -> None:
    assert provider.check({}, inputs()).failures == []
    assert provider.check({}, inputs(lifetime_hours=2, rotation_window_hours=1)).failures == []


def test_create_refuses_to_call_coder_when_the_window_is_not_below_the_lifetime(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    requests = len(double.requests)
    with pytest.raises(ValueError, match="rotation_window_hours"):
        provider.create(inputs(rotation_window_hours=200))
    assert len(double.requests) == requests


def test_nothing_secret_reaches_logs_or_errors_when_the_provider_runs_and_fails(
    provider: CoderApiTokenProvider, double: CoderDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    key_id, outs = created(provider)
    provider.read(key_id, outs)
    messages: list[str] = []
    failing: list[Callable[[], object]] = [
        lambda: provider.create(inputs(lifetime_hours=500, rotation_window_hours=24)),
        lambda: provider.create(inputs(password="wrong-Pw-77aa11bb")),
        lambda: provider.create(inputs(password="x")),
    ]
    for call in failing:
        with pytest.raises(Exception) as raised:  # each failure's text is inspected
            call()
        messages.append(f"{raised.value} {raised.value!r}")
    provider.delete(key_id, outs)
    secrets = [*double.secrets_seen(), outs["token"], PASSWORD, "wrong-Pw-77aa11bb"]
    text = caplog.text + " ".join(messages)
    assert "minted token coder-platform-runner" in caplog.text
    for secret in secrets:
        assert secret not in text


def test_resource_registers_its_type_token_and_secret_outputs_when_declared() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderApiToken(
            "runner-token",
            CoderApiTokenArgs(
                url=BASE_URL,
                email=EMAIL,
                password=PASSWORD,
                username=USERNAME,
                token_name="coder-platform-runner",
                lifetime_hours=168,
                rotation_window_hours=24,
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["password"])
    assert registered.inputs["lifetime_hours"] == 168
    assert set(capture.opts("runner-token").additional_secret_outputs or []) == {
        "token",
        "password",
    }


def test_read_finds_a_token_minted_before_names_carried_a_suffix(
    provider: CoderApiTokenProvider, double: CoderDouble
) -> None:
    """State written before make-before-break rotation has no ``minted_name``."""
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.authenticate(client.login(EMAIL, PASSWORD))
        token = client.create_token(USERNAME, "coder-platform-runner", 3600)
        key = client.get_token(USERNAME, "coder-platform-runner")
    assert key is not None
    old_state = {**inputs(), "token": token, "key_id": key.id, "expires_at": "x"}

    assert provider.read(key.id, old_state).id == key.id
