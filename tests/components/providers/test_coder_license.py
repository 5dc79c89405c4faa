"""CoderLicense: added once, adopted when already present, gone after a reset and added again,
replaced by a new JWT, never printed, against the in-process Coder double.

Contract clauses: C1 (a value that is no JWT fails at check, without echoing it), C2 (a no-op
run makes zero writes; the token never counts as a change; a missing license on delete is
success; the JWT never reaches a log or an error), C3 (a reset drops the license: read reports
it gone and create adds it again).
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

from components.providers.coder_license import (
    CoderLicense,
    CoderLicenseArgs,
    CoderLicenseProvider,
)
from components.providers.sdk_internals import UNKNOWN
from testbed.coder_double import BASE_URL, CoderDouble
from testbed.coder_double.people import license_jwt
from testbed.harness import CapturedOptions, is_secret, run_component
from tests.components.providers.seeded_coder import (
    client_factory,
    create_first_user,
    created,
    mint_token,
    seeded_double,
    writes_since,
)

TYPE = "pulumi-python:dynamic/coder:CoderLicense"
JWT = license_jwt(features={"template_rbac": 1})

Inputs = Callable[..., dict[str, Any]]


@pytest.fixture
def double() -> CoderDouble:
    return seeded_double()


@pytest.fixture
def token(double: CoderDouble) -> str:
    return mint_token(double, "license")


@pytest.fixture
def provider(double: CoderDouble) -> CoderLicenseProvider:
    return CoderLicenseProvider(client_factory(double))


@pytest.fixture
def inputs(token: str) -> Inputs:
    def build(**overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "url": BASE_URL,
            "token": token,
            "license": JWT,
            "__provider": "pickled-provider",
        }
        props.update(overrides)
        return props

    return build


def test_create_adds_the_license_once_and_reports_its_id_and_expiry(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    license_id, outs = created(provider, inputs())
    assert writes_since(double, start) == [("POST", "/licenses")]
    assert [str(i) for i in double.licenses] == [license_id]
    assert outs["license_id"] == int(license_id)
    assert outs["expires_at"] == "2027-01-01T00:00:00+00:00"
    assert double.allows("template_rbac") is True


def test_create_adopts_the_license_without_a_write_when_coder_already_has_it(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    first_id, _ = created(provider, inputs())
    start = len(double.requests)
    license_id, _ = created(provider, inputs())
    assert license_id == first_id
    assert writes_since(double, start) == []
    assert len(double.licenses) == 1


def test_read_and_diff_make_zero_writes_when_nothing_changed(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    license_id, outs = created(provider, inputs())
    start = len(double.requests)
    result = provider.read(license_id, outs)
    assert result.id == license_id and result.outs is not None
    assert provider.diff(license_id, result.outs, inputs()).changes is False
    assert double.requests[start:] == [("GET", "/licenses")]


def test_diff_shows_no_change_when_only_the_token_changed(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    license_id, outs = created(provider, inputs())
    rotated = mint_token(double, "rotated")
    assert provider.diff(license_id, outs, inputs(token=rotated)).changes is False


def test_a_new_jwt_replaces_the_license(provider: CoderLicenseProvider, inputs: Inputs) -> None:
    license_id, outs = created(provider, inputs())
    diff = provider.diff(license_id, outs, inputs(license=license_jwt(all_features=True)))
    assert diff.changes is True and diff.replaces == ["license"]


def test_a_reset_reads_as_gone_and_create_adds_the_license_again(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    license_id, outs = created(provider, inputs())
    double.wipe()
    create_first_user(double)  # the seeded subtree after a reset: first user, then its token
    fresh = mint_token(double, "license")
    assert provider.read(license_id, {**outs, "token": fresh}).id == ""
    created(provider, inputs(token=fresh))
    assert len(double.licenses) == 1 and double.allows("template_rbac") is True


def test_a_hand_removed_license_reads_as_gone(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    license_id, outs = created(provider, inputs())
    double.licenses.clear()
    assert provider.read(license_id, outs).id == ""


def test_delete_removes_the_license_and_succeeds_again_when_it_is_already_gone(
    provider: CoderLicenseProvider, double: CoderDouble, inputs: Inputs
) -> None:
    license_id, outs = created(provider, inputs())
    provider.delete(license_id, outs)
    assert double.licenses == {}
    provider.delete(license_id, outs)
    assert double.count("DELETE", f"/licenses/{license_id}") == 2


def test_check_names_the_field_and_never_the_value_when_the_license_is_not_a_jwt(
    provider: CoderLicenseProvider, inputs: Inputs
) -> None:
    failures = provider.check({}, inputs(license="plain-secret-Zk91xq")).failures
    assert [f.property for f in failures] == ["license"]
    assert "plain-secret-Zk91xq" not in failures[0].reason
    assert provider.check({}, inputs(license=UNKNOWN)).failures == []
    assert provider.check({}, inputs()).failures == []


def test_no_secret_reaches_a_log_or_an_error_when_the_provider_runs_and_fails(
    provider: CoderLicenseProvider,
    double: CoderDouble,
    inputs: Inputs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    license_id, outs = created(provider, inputs())
    provider.read(license_id, outs)
    no_exp = license_jwt(exp=None)
    messages: list[str] = []
    for bad in (no_exp, "not-a-jwt"):
        with pytest.raises(Exception) as raised:  # each failure's text is inspected
            provider.create(inputs(license=bad))
        messages.append(f"{raised.value} {raised.value!r}")
    provider.delete(license_id, outs)
    text = caplog.text + " ".join(messages)
    for secret in [*double.secrets_seen(), outs["token"], JWT, no_exp]:
        assert secret not in text


def test_resource_registers_its_type_token_and_keeps_the_license_and_token_secret() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderLicense(
            "license",
            CoderLicenseArgs(BASE_URL, "mock-token-Zq81-3f7c9e2a4b6d", JWT),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["license"]) and is_secret(registered.inputs["token"])
    assert capture.opts("license").additional_secret_outputs == ["token", "license"]


def test_the_provider_pickles_by_reference_without_a_client_when_serialized_into_state() -> None:
    raw = base64.b64decode(serialize_provider(CoderLicenseProvider()))
    assert b"components.providers.coder_license" in raw
    assert len(raw) < 400, "only the class reference, no client"
    loaded = dill.loads(raw)
    assert isinstance(loaded, CoderLicenseProvider)
    assert "license" in [f.property for f in loaded.check({}, {"license": "x"}).failures]
