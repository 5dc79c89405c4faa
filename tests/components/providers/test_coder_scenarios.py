"""The shared seeding scenarios (tests/scenarios/coder_seeding.py) against the Coder double; the
e2e tier runs the same lists against the real Coder (tests/e2e/test_seeding_scenarios.py, and
the role-sync ones against a Coder with its OIDC user role field set:
tests/e2e/test_idp_role_sync.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testbed.coder_double import BASE_URL
from testbed.coder_double.people import DoubleLicense
from tests.components.providers.seeded_coder import client_factory, mint_token, seeded_double
from tests.scenarios.coder_seeding import (
    ROLE_SYNC_SCENARIOS,
    SCENARIOS,
    CoderUnderTest,
    new_suffix,
)


@pytest.mark.parametrize("premium", [False, True], ids=["no-license", "premium"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_the_double_agrees_with_coder_when(
    scenario: Callable[[CoderUnderTest], None], premium: bool
) -> None:
    scenario(_coder_under_test(premium=premium))


@pytest.mark.parametrize("premium", [False, True], ids=["no-license", "premium"])
@pytest.mark.parametrize("scenario", ROLE_SYNC_SCENARIOS, ids=lambda s: s.__name__)
def test_the_double_agrees_with_coder_under_role_sync_when(
    scenario: Callable[[CoderUnderTest], None], premium: bool
) -> None:
    scenario(_coder_under_test(premium=premium, oidc_user_role_field="roles"))


def _coder_under_test(*, premium: bool, oidc_user_role_field: str = "") -> CoderUnderTest:
    double = seeded_double()
    double.oidc_user_role_field = oidc_user_role_field
    if premium:
        double.licenses[1] = DoubleLicense(1, "premium", "jwt", {"feature_set": "premium"})
    return CoderUnderTest(
        url=BASE_URL,
        token=mint_token(double, "scenarios"),
        client_factory=client_factory(double),
        suffix=new_suffix(),
    )
