"""Drive ``python -m automation`` as a user (or the CronJob) would, and read its reports."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    exit_code: int
    report: dict[str, Any]
    stderr: str

    def drifted(self) -> dict[str, list[str]]:
        """Logical name -> drifted property paths."""
        return {
            d["urn"].split("::")[-1]: list(d.get("properties", [])) for d in self.report["drifted"]
        }


@dataclass(frozen=True)
class Project:
    work_dir: Path
    env: dict[str, str]

    def command(self, command: str, stack: str = "local", *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "automation", command, "--stack", stack,
            "--work-dir", str(self.work_dir), "--output", "json", *extra,
        ]  # fmt: skip

    def run(self, command: str, stack: str = "local", *extra: str) -> Run:
        out = subprocess.run(
            self.command(command, stack, *extra),
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        report = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
        return Run(out.returncode, report, out.stderr)

    def start(self, command: str, stack: str = "local") -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(command, stack),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
