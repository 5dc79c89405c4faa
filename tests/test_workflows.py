"""The GitHub workflows keep the promises the runner's lock handling relies on.

An in-cluster run breaks a stack lock older than ``stale_lock_after_seconds`` (it cannot belong
to a live in-cluster run); that is safe against CI runs only while every CI job that runs the
engine ends within ``CI_RUN_LIMIT_SECONDS`` (coder_platform/run_limits.py). zizmor and actionlint
(scripts/test) check the rest: pins, permissions, injection.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from coder_platform.run_limits import CI_RUN_LIMIT_SECONDS
from testbed.harness import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yaml"))
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def jobs(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text())["jobs"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_ends_before_an_in_cluster_run_may_break_its_lock(path: Path) -> None:
    for name, job in jobs(path).items():
        minutes = job.get("timeout-minutes")
        assert isinstance(minutes, int), f"{path.name}: job {name} has no timeout-minutes"
        assert minutes * 60 <= CI_RUN_LIMIT_SECONDS, f"{path.name}: job {name} runs too long"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_release_tag_beside_it(path: Path) -> None:
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]

    assert uses
    assert [line for line in uses if not PINNED.match(line)] == []
