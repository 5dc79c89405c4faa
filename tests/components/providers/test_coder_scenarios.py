"""The shared seeding scenarios (tests/scenarios/coder_seeding.py) against the Coder double; the
e2e tier runs the same list against the real Coder (tests/e2e/test_seeding_scenarios.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testbed.coder_double import BASE_URL
from tests.components.providers.seeded_coder import client_factory, mint_token, seeded_double
from tests.scenarios.coder_seeding import SCENARIOS, CoderUnderTest, new_suffix


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_the_double_agrees_with_coder_when(scenario: Callable[[CoderUnderTest], None]) -> None:
    double = seeded_double()
    coder = CoderUnderTest(
        url=BASE_URL,
        token=mint_token(double, "scenarios"),
        client_factory=client_factory(double),
        suffix=new_suffix(),
    )
    scenario(coder)
