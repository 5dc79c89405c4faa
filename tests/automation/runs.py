"""Run a runner command end to end (``execute``) against fakes, capturing everything printed."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from automation.engine.backend import BackendSettings
from automation.execute import OutputMode, RunSettings, Streams, execute
from automation.outcome import Outcome
from automation.reporting.report import RunReport
from automation.session import Session
from coder_platform.contracts import SECRETS_PROVIDER_ENV
from coder_platform.redaction import Redactor
from testbed.harness import ROOT
from tests.automation.fakes import FakeEngine

FAKE_VAULT_TOKEN = "hvs.mockVaultToken0123456789abcdef"
FAKE_PASSPHRASE = "mock-passphrase-d41f7c9b2e"


def managed_environ(tmp_path: Path) -> dict[str, str]:
    """A managed stack's runner environment (the dev stack file says environment: dev)."""
    return {
        "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(),
        SECRETS_PROVIDER_ENV: "passphrase",
        "PULUMI_CONFIG_PASSPHRASE": FAKE_PASSPHRASE,
        "VAULT_TOKEN": FAKE_VAULT_TOKEN,
    }


@dataclass
class Captured:
    report: RunReport
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def everything(self) -> str:
        files = "".join(p.read_text() for p in sorted(self.report_dir.rglob("*.json")))
        return self.stdout + self.stderr + files


def run(
    engine: FakeEngine,
    body: Callable[[Session], Outcome],
    tmp_path: Path,
    *,
    command: str = "reconcile",
    output: OutputMode = "json",
    environ: Mapping[str, str] | None = None,
) -> Captured:
    stdout, stderr = io.StringIO(), io.StringIO()
    report_dir = tmp_path / "reports"
    settings = RunSettings(
        command=command, stack="dev", work_dir=ROOT, report_dir=report_dir, output=output
    )

    def factory(
        stack: str, work_dir: Path, backend: BackendSettings, redactor: Redactor
    ) -> FakeEngine:
        return engine

    report = execute(
        settings,
        body,
        factory,
        managed_environ(tmp_path) if environ is None else environ,
        Streams(stdout, stderr),
    )
    return Captured(report, stdout.getvalue(), stderr.getvalue(), report_dir)
