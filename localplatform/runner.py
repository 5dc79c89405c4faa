"""The runner as the scheduler runs it, from the local rigs: ``python -m automation reconcile``
in a process of its own, and its JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from localplatform.binaries import ROOT


def runner_reconcile(
    stack: str, work_dir: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """One ``reconcile`` of ``stack`` (in ``work_dir``, a project copy, when given); its exit
    code and JSON report (empty when it printed none)."""
    command = [sys.executable, "-m", "automation", "reconcile", "--stack", stack]
    if work_dir is not None:
        command += ["--work-dir", str(work_dir)]
    out = subprocess.run(
        [*command, "--output", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(out.stdout)
    except json.JSONDecodeError:
        report = {}
    return out.returncode, report
