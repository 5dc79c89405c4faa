"""The e2e tier: one mission (a project copy with its own local platform) for the session.

A missing build fails loudly, never skips: ``scripts/test`` builds everything first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localplatform.daemon import PartError
from testbed.mission import Mission, start_mission


@pytest.fixture(scope="session")
def mission(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mission]:
    try:
        started = start_mission(tmp_path_factory.mktemp("e2e"))
    except PartError as error:
        pytest.fail(f"the e2e tier needs the local platform: {error}", pytrace=False)
    try:
        yield started
    finally:
        started.platform.down()
