"""The shared seeding scenarios (tests/scenarios/coder_seeding.py) against the real Coder of the
session's platform; the unit tier runs the same list against the double. Then what only the
whole stack shows: a template renamed in config is renamed in place by one reconcile.

Runs after test_mission.py (file order): the stack is converged, and its automation token (an
owner's) is published to OpenBao; a fresh session reconciles once first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from coder_platform.contracts import PROJECT, ExitCode
from testbed.mission import Mission
from tests.scenarios.coder_seeding import SCENARIOS, CoderUnderTest, new_suffix

pytestmark = pytest.mark.e2e

TEMPLATE = "hello"


@pytest.fixture(scope="module")
def seeded(mission: Mission) -> Mission:
    if not mission.platform.coder.has_first_user():
        run = mission.reconcile()
        assert run.exit_code in (ExitCode.OK, ExitCode.HEALED), run.stderr[-3000:]
    return mission


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_the_real_coder_agrees_when(
    seeded: Mission, scenario: Callable[[CoderUnderTest], None]
) -> None:
    scenario(CoderUnderTest(seeded.coder_url, seeded.token(), None, new_suffix()))


def _set_template_name(mission: Mission, name: str | None) -> None:
    def edit(config: dict[str, Any]) -> None:
        settings = config[f"{PROJECT}:seeding"]["templates"][TEMPLATE]
        if name is None:
            settings.pop("name", None)
        else:
            settings["name"] = name

    mission.edit_stack(edit)


def test_a_template_renamed_in_config_is_renamed_in_place_then_converged(seeded: Mission) -> None:
    before = seeded.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    _set_template_name(seeded, "hello-renamed")
    try:
        run = seeded.reconcile()
        assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
        renamed = seeded.coder("GET", "/organizations/default/templates/hello-renamed")
        assert renamed.status_code == 200 and renamed.json()["id"] == before["id"]
        assert renamed.json()["active_version_id"] == before["active_version_id"]
        again = seeded.reconcile()
        assert again.exit_code == ExitCode.OK, again.stderr[-3000:]
        assert again.report["coder"]["writes_by_runner"] == 0
    finally:
        _set_template_name(seeded, None)
    run = seeded.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    back = seeded.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    assert back["id"] == before["id"]
