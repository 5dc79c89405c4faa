"""``scripts/incident-drill`` as an operator runs it, on a real node: the node stack deployed
and backed up, its database namespace deleted, the runbook's "A lost cluster" followed, RTO and
RPO printed, and the next reconcile converged; exit 0 only if all of that held.

The drill starts its own platform instance with a node and stops it, so it runs while no other
node is up (pytest runs this module before test_node.py's and test_node_stack.py's nodes start).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from coder_platform.config import read_stack_file
from localplatform.binaries import ROOT
from localplatform.node import BRIDGE
from localplatform.node_host import read_sysctls

pytestmark = pytest.mark.node

NODE_STACK = read_stack_file(ROOT / "stacks" / "Pulumi.node.yaml")
assert NODE_STACK.database is not None
# Every check the drill makes, in order: a drill that skipped one must not pass.
CHECKS = [
    "reconcile: deploy",
    "backed up",
    "Coder in use",
    "namespace deleted",
    "volume kept",
    "reconcile: recover",
    "not re-seeded",
    "Coder's data back",
    "archived rows back",
    "RPO within archive_timeout",
    "reconcile: converged",
    "zero Coder writes",
]


@dataclass(frozen=True)
class DrillRun:
    out: subprocess.CompletedProcess[str]
    record: dict[str, Any]
    sysctls_before: dict[str, str]

    def figures(self) -> dict[str, Any]:
        """The line the drill prints for people: ``incident drill: {...}``."""
        [line] = [x for x in self.out.stdout.splitlines() if x.startswith("incident drill: ")]
        figures: dict[str, Any] = json.loads(line.removeprefix("incident drill: "))
        return figures


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> DrillRun:
    assert os.geteuid() == 0, "the node tier needs root (containerd, kubelet)"
    record = tmp_path_factory.mktemp("incident-drill") / "drill.json"
    before = read_sysctls()
    out = subprocess.run(
        [str(ROOT / "scripts" / "incident-drill"), "--record", str(record)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=2400,
        check=False,
    )
    document = json.loads(record.read_text()) if record.exists() else {}
    return DrillRun(out, document, before)


def test_the_drill_exits_0_with_every_check_passed(drill: DrillRun) -> None:
    checks = drill.record.get("checks", [])
    failed = [c for c in checks if not c["ok"]]
    assert drill.out.returncode == 0, (failed, drill.out.stderr[-3000:])
    assert [c["check"] for c in checks] == CHECKS
    assert not failed


def test_the_drill_prints_rto_and_an_rpo_within_the_archive_timeout(
    drill: DrillRun, record_property: Callable[[str, Any], None]
) -> None:
    figures = drill.figures()
    for key, value in figures.items():
        record_property(key, value)
    assert figures == drill.record["figures"]
    # A sanity bound, not a target: the namespace alone took 200 to 484 s with Coder connected
    # (smart shutdown), and Coder's pod restarts on the kubelet's back-off once its data is back.
    assert 0 < figures["database_back_seconds"] <= figures["rto_seconds"] < 1800, figures
    assert figures["rpo_seconds"] <= figures["archive_timeout_seconds"], figures
    # The rows inside the archived segment always come back; the generation was bumped once.
    assert {1, 2, 3} <= set(figures["markers_back"]), figures
    assert figures["generation"] == NODE_STACK.database.generation + 1, figures


def test_the_drill_leaves_the_host_as_it_found_it(drill: DrillRun) -> None:
    assert read_sysctls() == drill.sysctls_before
    link = subprocess.run(
        ["ip", "link", "show", BRIDGE], capture_output=True, text=True, check=False
    )
    assert link.returncode != 0, f"the bridge {BRIDGE} is still there"
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert "KUBE-" not in rules, "kube-proxy's or the kubelet's iptables chains are left"
