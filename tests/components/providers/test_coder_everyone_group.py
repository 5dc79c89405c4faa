"""CoderEveryoneGroup: the Everyone group's quota against the in-process Coder double (which,
like coderd 2.36, keeps the group itself and lets only its quota change).

Contract clauses: C1 (inputs fail at check; a missing entitlement fails before any write), C2
(a converged quota reads without a diff and writes nothing; the token is no change), C3 (a quota
changed by hand is set again in one PATCH).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.providers.coder_everyone_group import (
    QUOTA_KEY,
    CoderEveryoneGroup,
    CoderEveryoneGroupArgs,
    CoderEveryoneGroupProvider,
    EveryoneQuotaNotEntitledError,
)
from components.providers.common import LICENSE_CONFIG_KEY, UNVERIFIED
from testbed.coder_double import BASE_URL, ORG_ID, CoderDouble
from testbed.harness import CapturedOptions, is_secret, run_component
from tests.components.providers.seeded_coder import (
    client_factory,
    created,
    mint_token,
    read_outs,
    seeded_double,
    writes_since,
)

Inputs = Callable[..., dict[str, Any]]


@pytest.fixture
def double() -> CoderDouble:
    coder = seeded_double()
    coder.entitle("template_rbac")
    return coder


@pytest.fixture
def provider(double: CoderDouble) -> CoderEveryoneGroupProvider:
    return CoderEveryoneGroupProvider(client_factory(double))


@pytest.fixture
def inputs(double: CoderDouble) -> Inputs:
    token = mint_token(double, "everyone")

    def build(**overrides: Any) -> dict[str, Any]:
        props = {"url": BASE_URL, "token": token, "organization": "default"}
        return props | {"quota_allowance": 2.0} | overrides  # numbers arrive as floats

    return build


def test_create_sets_the_quota_of_the_group_whose_id_is_the_organizations(
    double: CoderDouble, provider: CoderEveryoneGroupProvider, inputs: Inputs
) -> None:
    id_, outs = created(provider, inputs())
    assert id_ == ORG_ID and double.everyone_quota == 2
    assert (outs["quota_allowance"], outs[UNVERIFIED]) == (2, False)


def test_a_converged_quota_reads_without_a_diff_and_writes_nothing(
    double: CoderDouble, provider: CoderEveryoneGroupProvider, inputs: Inputs
) -> None:
    id_, outs = created(provider, inputs())
    start = len(double.requests)
    read = read_outs(provider, id_, outs)
    assert not provider.diff(id_, read, inputs(token="rotated")).changes
    provider.update(id_, read, inputs())
    assert double.requests[start:][0] == ("GET", f"/groups/{ORG_ID}")
    assert writes_since(double, start) == []


def test_a_quota_changed_by_hand_is_set_again_in_one_patch(
    double: CoderDouble, provider: CoderEveryoneGroupProvider, inputs: Inputs
) -> None:
    id_, outs = created(provider, inputs())
    double.everyone_quota = 7
    read = read_outs(provider, id_, outs)
    assert read["quota_allowance"] == 7 and provider.diff(id_, read, inputs()).changes
    start = len(double.requests)
    provider.update(id_, read, inputs())
    assert writes_since(double, start) == [("PATCH", f"/groups/{ORG_ID}")]
    assert double.everyone_quota == 2


def test_create_fails_before_any_write_without_the_entitlement(
    double: CoderDouble, provider: CoderEveryoneGroupProvider, inputs: Inputs
) -> None:
    double.entitled.clear()
    start = len(double.requests)
    with pytest.raises(EveryoneQuotaNotEntitledError) as refused:
        provider.create(inputs())
    assert LICENSE_CONFIG_KEY in str(refused.value) and QUOTA_KEY in str(refused.value)
    assert writes_since(double, start) == []


def test_delete_writes_nothing_and_keeps_the_quota(
    double: CoderDouble, provider: CoderEveryoneGroupProvider, inputs: Inputs
) -> None:
    id_, outs = created(provider, inputs())
    start = len(double.requests)
    provider.delete(id_, outs)
    assert double.requests[start:] == [] and double.everyone_quota == 2


def test_check_names_a_negative_or_fractional_quota(
    provider: CoderEveryoneGroupProvider, inputs: Inputs
) -> None:
    for bad in (-1, 1.5, "ten"):
        failures = provider.check({}, inputs(quota_allowance=bad)).failures
        assert [f.property for f in failures] == ["quota_allowance"]


def test_resource_registers_its_type_token_and_keeps_the_token_secret() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderEveryoneGroup(
            "group-everyone",
            CoderEveryoneGroupArgs(BASE_URL, "mock-token-Zq81-3f7c9e2a4b6d", 3),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one("pulumi-python:dynamic/coder:CoderEveryoneGroup")
    assert is_secret(registered.inputs["token"]) and registered.inputs["quota_allowance"] == 3
    assert capture.opts("group-everyone").additional_secret_outputs == ["token"]
