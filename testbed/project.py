"""A project copy on the real engine: drive ``python -m automation`` as a user (or the CronJob)
would, and read its reports. The integration tier and the bench's real-engine rows share it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from coder_platform.contracts import PROJECT
from localplatform.daemon import PartError
from localplatform.platform import toolchain_env
from localplatform.project_copy import copy_files

ROOT = Path(__file__).resolve().parents[1]
# Objects the local stack's program creates, by API path (what a heal must bring back).
CRONJOB = "/apis/batch/v1/namespaces/coder-reconciler/cronjobs/coder-reconciler-local"
SCHEDULED_BACKUP = (
    "/apis/postgresql.cnpg.io/v1/namespaces/coder-db/scheduledbackups/coder-db-base-backup"
)


class ToolchainMissingError(RuntimeError):
    """``scripts/install-toolchain`` has not built the toolchain; the message says so."""


def read_toolchain_env() -> dict[str, str]:
    """This environment with the cached toolchain (Pulumi CLI, plugins, kube) on PATH."""
    try:
        return toolchain_env(ROOT)
    except PartError as missing:
        raise ToolchainMissingError(
            f"the real engine needs the toolchain: run scripts/install-toolchain ({missing})"
        ) from None


def copy_project(destination: Path) -> Path:
    """The project's program, stacks and pack in a directory of its own, so the embedded
    backend (``.pulumi-state``) and reports of a run never touch the checkout."""
    copy_files(destination)
    kubernetes_only(destination / "stacks" / "Pulumi.local.yaml")
    return destination


def kubernetes_only(stack_file: Path) -> None:
    """The real-engine tier proves the Kubernetes parts on a loopback API server alone: the
    copy's local stack drops Coder, seeding and Vault (the e2e tier runs the whole platform)."""
    stack = yaml.safe_load(stack_file.read_text())
    config = stack["config"]
    config[f"{PROJECT}:vault"] = {"enabled": False}
    for key in (f"{PROJECT}:coder", f"{PROJECT}:seeding"):
        config.pop(key, None)
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))


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

    def run(self, command: str, stack: str = "local", *extra: str, timeout: float = 600) -> Run:
        out = subprocess.run(
            self.command(command, stack, *extra),
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
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
