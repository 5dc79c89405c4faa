"""CoderClient against the in-process double: typed errors, bounded retry, redaction, write count.

Contract clauses: P1 (bounded internal retry, only for what retrying can fix), C2 (no secret in a
log line, message or repr; "already exists" surfaces as a typed conflict), C4 (errors name the
endpoint and Coder's message).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from coder_platform.coder_api import (
    ApiKey,
    CoderApiError,
    CoderAuthError,
    CoderClient,
    CoderConflictError,
    CoderUnreachableError,
)
from testbed.coder_double import BASE_URL, FIXED_NOW, CoderDouble, FakeClock
from testbed.coder_double.core import CODER_VERSION

EMAIL = "automation@coder-platform.test"
USERNAME = "coder-automation"
PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"


@pytest.fixture
def double() -> CoderDouble:
    return CoderDouble()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(double: CoderDouble, clock: FakeClock, token: str | None = None) -> CoderClient:
    return CoderClient(BASE_URL, token, transport=double.transport(), clock=clock)


@pytest.fixture
def client(double: CoderDouble, clock: FakeClock) -> CoderClient:
    return make_client(double, clock)


@pytest.fixture
def owner(client: CoderClient) -> CoderClient:
    """A client logged in as the first user (the automation identity)."""
    client.create_first_user(EMAIL, USERNAME, "Automation", PASSWORD)
    client.authenticate(client.login(EMAIL, PASSWORD))
    return client


def assert_hidden(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


def test_build_info_is_read_without_a_token_when_client_is_unauthenticated(
    client: CoderClient, double: CoderDouble
) -> None:
    assert client.build_info().version == CODER_VERSION
    assert double.tokens_sent == [None]


def test_has_first_user_is_false_when_coder_answers_404(client: CoderClient) -> None:
    assert client.has_first_user() is False


def test_has_first_user_is_true_when_a_user_exists(owner: CoderClient) -> None:
    assert owner.has_first_user() is True


def test_has_first_user_raises_when_coder_answers_500(
    client: CoderClient, double: CoderDouble
) -> None:
    double.fail_next(500)
    with pytest.raises(CoderApiError) as raised:
        client.has_first_user()
    assert raised.value.status == 500
    assert "GET /api/v2/users/first" in str(raised.value)


def test_create_first_user_raises_conflict_when_a_first_user_exists(owner: CoderClient) -> None:
    with pytest.raises(CoderConflictError) as raised:
        owner.create_first_user(EMAIL, "someone-else", "", PASSWORD)
    assert raised.value.status == 409
    assert "already been created" in raised.value.message
    assert PASSWORD not in str(raised.value)


def test_requests_carry_the_session_header_when_authenticated(
    owner: CoderClient, double: CoderDouble
) -> None:
    me = owner.me()
    assert (me.username, me.is_owner) == (USERNAME, True)
    assert double.tokens_sent[-1] in double.sessions


def test_login_raises_auth_error_without_the_password_when_it_is_wrong(
    owner: CoderClient, double: CoderDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    wrong = "wrong-Pw-0a9b8c7d6e5f"
    with pytest.raises(CoderAuthError) as raised:
        owner.login(EMAIL, wrong)
    assert raised.value.status == 401
    assert "POST /api/v2/users/login" in str(raised.value)
    assert_hidden(f"{raised.value} {raised.value!r} {caplog.text}", [wrong, PASSWORD])
    assert len(double.requests) == 3  # first user, login, login: a 401 is never retried


def test_call_fails_before_sending_when_no_token_is_set(
    client: CoderClient, double: CoderDouble
) -> None:
    with pytest.raises(CoderAuthError, match="log in first"):
        client.me()
    assert double.requests == []


def test_retries_with_exponential_backoff_then_raises_unreachable_when_coder_stays_503(
    client: CoderClient, double: CoderDouble, clock: FakeClock
) -> None:
    double.fail_next(503, times=10)
    with pytest.raises(CoderUnreachableError) as raised:
        client.build_info()
    assert len(double.requests) == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert raised.value.status == 503
    assert "after 5 attempts" in str(raised.value)


def test_retries_then_succeeds_when_connection_recovers(
    client: CoderClient, double: CoderDouble
) -> None:
    double.drop_next(times=2)
    assert client.has_first_user() is False
    assert len(double.requests) == 3


def test_raises_unreachable_without_status_when_connections_keep_failing(
    double: CoderDouble, clock: FakeClock
) -> None:
    client = CoderClient(BASE_URL, transport=double.transport(), clock=clock, max_attempts=3)
    double.drop_next(times=3)
    with pytest.raises(CoderUnreachableError) as raised:
        client.has_first_user()
    assert raised.value.status is None
    assert "ConnectError" in str(raised.value)
    assert len(double.requests) == 3


def test_auth_error_is_not_retried_when_coder_answers_401(
    double: CoderDouble, clock: FakeClock
) -> None:
    client = make_client(double, clock, token="dead-session-token-0123456789")
    with pytest.raises(CoderAuthError) as raised:
        client.me()
    assert len(double.requests) == 1
    assert clock.sleeps == []
    assert "dead-session-token-0123456789" not in str(raised.value)


def test_internal_error_is_not_retried_when_coder_answers_500(
    owner: CoderClient, double: CoderDouble
) -> None:
    before = len(double.requests)
    double.fail_next(500)
    with pytest.raises(CoderApiError) as raised:
        owner.me()
    assert type(raised.value) is CoderApiError
    assert len(double.requests) == before + 1


def test_create_token_explains_the_admin_cap_when_lifetime_exceeds_it(
    owner: CoderClient,
) -> None:
    with pytest.raises(CoderApiError) as raised:
        owner.create_token("me", "ci", lifetime_seconds=200 * 3600)
    text = str(raised.value)
    assert raised.value.status == 400
    assert "CODER_MAX_ADMIN_TOKEN_LIFETIME" in text
    assert "168h0m0s" in text


def test_create_token_sends_lifetime_in_nanoseconds_when_minting(
    owner: CoderClient, double: CoderDouble
) -> None:
    key = owner.create_token(USERNAME, "ci", lifetime_seconds=24 * 3600)
    minted = double.key_named("ci")
    assert minted is not None
    assert key == minted.token
    assert minted.lifetime_seconds == 24 * 3600
    assert minted.expires_at == FIXED_NOW + timedelta(hours=24)


def test_create_token_raises_conflict_when_the_name_exists(owner: CoderClient) -> None:
    owner.create_token(USERNAME, "ci", lifetime_seconds=3600)
    with pytest.raises(CoderConflictError):
        owner.create_token(USERNAME, "ci", lifetime_seconds=3600)


def test_get_token_returns_metadata_when_the_token_exists(owner: CoderClient) -> None:
    owner.create_token(USERNAME, "ci", lifetime_seconds=48 * 3600)
    key = owner.get_token(USERNAME, "ci")
    assert isinstance(key, ApiKey)
    assert key.token_name == "ci"
    assert key.lifetime_seconds == 48 * 3600
    assert key.expires_at == FIXED_NOW + timedelta(hours=48)


def test_get_token_is_none_when_no_token_has_the_name(owner: CoderClient) -> None:
    assert owner.get_token(USERNAME, "missing") is None


def test_delete_token_succeeds_when_the_key_is_already_gone(
    owner: CoderClient, double: CoderDouble
) -> None:
    owner.create_token(USERNAME, "ci", lifetime_seconds=3600)
    key = owner.get_token(USERNAME, "ci")
    assert key is not None
    owner.delete_token(USERNAME, key.id)
    owner.delete_token(USERNAME, key.id)
    assert double.keys == {}
    assert double.count("DELETE", f"/users/{USERNAME}/keys/{key.id}") == 2


def test_token_config_is_the_role_aware_cap_when_read(owner: CoderClient) -> None:
    assert owner.token_config(USERNAME) == timedelta(hours=168)


def test_get_user_is_none_when_coder_does_not_know_the_name(owner: CoderClient) -> None:
    assert owner.get_user("nobody") is None
    found = owner.get_user(USERNAME)
    assert found is not None
    assert found.email == EMAIL


def test_templates_and_versions_are_listed_when_they_exist(
    owner: CoderClient, double: CoderDouble
) -> None:
    template_id = double.add_template("kubernetes-devcontainer", ["v1", "v2"])
    [template] = owner.list_templates()
    assert (template.id, template.name) == (template_id, "kubernetes-devcontainer")
    versions = owner.list_template_versions(template_id)
    assert [v.name for v in versions] == ["v1", "v2"]
    assert template.active_version_id == versions[-1].id


def test_write_count_counts_only_non_get_requests_when_calls_are_mixed(
    client: CoderClient, double: CoderDouble
) -> None:
    client.has_first_user()
    client.create_first_user(EMAIL, USERNAME, "", PASSWORD)
    client.authenticate(client.login(EMAIL, PASSWORD))
    client.me()
    client.list_templates()
    assert client.write_count == 2
    client.create_token(USERNAME, "ci", lifetime_seconds=3600)
    client.get_token(USERNAME, "ci")
    assert client.write_count == 3
    assert client.write_count == double.writes()


def test_write_count_stays_zero_when_a_reconcile_only_reads(owner: CoderClient) -> None:
    before = owner.write_count
    owner.has_first_user()
    owner.me()
    owner.token_config(USERNAME)
    assert owner.write_count == before


def test_repr_hides_the_token_when_authenticated(owner: CoderClient, double: CoderDouble) -> None:
    text = repr(owner)
    assert "authenticated=True" in text
    assert_hidden(text, double.secrets_seen())


def test_wait_until_ready_returns_build_info_when_coder_comes_up(
    client: CoderClient, double: CoderDouble, clock: FakeClock
) -> None:
    double.drop_next(times=2)
    double.fail_next(503)
    assert client.wait_until_ready(deadline_seconds=30).version == CODER_VERSION
    assert len(double.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_wait_until_ready_raises_unreachable_when_the_deadline_passes(
    client: CoderClient, double: CoderDouble, clock: FakeClock
) -> None:
    double.drop_next(times=1000)
    with pytest.raises(CoderUnreachableError, match="not ready within 10s"):
        client.wait_until_ready(deadline_seconds=10)
    assert sum(clock.sleeps) == pytest.approx(10)
    assert len(double.requests) < 20


def test_nothing_secret_is_logged_or_raised_when_a_whole_session_runs(
    double: CoderDouble, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="coder_platform.coder_api")
    client = make_client(double, clock)
    client.create_first_user(EMAIL, USERNAME, "", PASSWORD)
    client.authenticate(client.login(EMAIL, PASSWORD))
    key = client.create_token(USERNAME, "ci", lifetime_seconds=3600)
    errors: list[str] = []
    for call in (
        lambda: client.create_token(USERNAME, "ci", lifetime_seconds=3600),
        lambda: client.create_first_user(EMAIL, USERNAME, "", PASSWORD),
        lambda: make_client(double, clock, token=f"{key[:10]}-forged").me(),
    ):
        try:
            call()
        except CoderApiError as error:
            errors.append(f"{error} {error!r} {error.message} {error.detail}")
    double.fail_next(503, times=5)
    with pytest.raises(CoderUnreachableError) as raised:
        client.logout()
    errors.append(str(raised.value))
    assert caplog.records, "the client logs each request"
    assert_hidden(caplog.text + " ".join(errors), [*double.secrets_seen(), key])


def test_an_error_names_each_field_coder_rejected_and_never_a_secret_it_echoed() -> None:
    secret = "echoed-Pw-8f3a1c"

    def answer(request: httpx.Request) -> httpx.Response:
        validations = [
            {
                "field": "username",
                "detail": 'Validation failed for tag "username" with value: "a_b"',
            },
            {
                "field": "password",
                "detail": f'Validation failed for tag "min" with value: "{secret}"',
            },
        ]
        return httpx.Response(
            400, json={"message": "Validation failed.", "validations": validations}
        )

    with CoderClient(BASE_URL, transport=httpx.MockTransport(answer)) as client:
        client.authenticate("session-token-0123456789")
        with pytest.raises(CoderApiError) as raised:
            client.create_user("a_b", "a@corp.test", login_type="password", password=secret)
    text = str(raised.value)
    assert "Validation failed." in text and "username: " in text and "password: " in text
    assert secret not in text
