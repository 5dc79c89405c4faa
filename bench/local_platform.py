"""The whole mission on loopback: the runner with a real Coder on (the e2e stack on a local
platform of its own), each number a ratio to a bare preview of the same stack in the same run.

Rows: the platform's start (setup, no ratio), the first reconcile (seeds Coder), a no-op
reconcile with Coder on, and the DB-reset heal: Coder's database dropped and recreated, Coder
restarted (untimed), then the one reconcile that re-seeds everything (timed). A run whose exit
code is not the expected one is reported as an error, never as a number.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measurement, timed
from coder_platform.contracts import ExitCode
from localplatform.daemon import PartError
from testbed.mission import Mission, start_mission

Progress = Callable[[str], None]
PREVIEW = "preview (Coder on)"


class LocalPlatformUnavailableError(RuntimeError):
    """The platform's servers are not built or did not start; nothing was measured."""


@dataclass(frozen=True)
class LocalPlatformResult:
    start: Measurement
    measurements: list[Measurement]

    def baseline(self) -> Measurement | None:
        return next((m for m in self.measurements if m.name == PREVIEW), None)


def measure(repeat: int, progress: Progress) -> LocalPlatformResult:
    with tempfile.TemporaryDirectory(prefix="coder-platform-bench-platform-") as tmp:
        progress("local platform: starting kube, PostgreSQL, OpenBao and Coder")
        start = Measurement(
            "local platform start", note="setup: four servers, Coder's migrations", comparable=False
        )
        started = time.perf_counter()
        try:
            mission = start_mission(Path(tmp))
        except PartError as error:
            raise LocalPlatformUnavailableError(str(error)) from None
        start.samples.append(time.perf_counter() - started)
        try:
            return LocalPlatformResult(start, _rounds(mission, repeat, progress))
        finally:
            mission.platform.down()


def _rounds(mission: Mission, repeat: int, progress: Progress) -> list[Measurement]:
    seed = Measurement("reconcile, first seed", note="once: first user, token, template, users")
    preview = Measurement(PREVIEW, note="with the policy pack")
    noop = Measurement("reconcile, no-op (Coder on)", note="zero Coder writes")
    heal = Measurement("reconcile, DB-reset heal", note="Coder's database wiped first (untimed)")
    measurements = [seed, preview, noop, heal]
    progress("local platform: first reconcile (seeds Coder)")
    if not _sample(mission, seed, "reconcile", ExitCode.HEALED):
        for skipped in (preview, noop, heal):
            skipped.error = "not run: the first seed failed"
        return measurements
    for round_ in range(1, repeat + 1):
        progress(f"local platform: round {round_}/{repeat}: preview, no-op, DB-reset heal")
        _sample(mission, preview, "preview", ExitCode.OK)
        _sample(mission, noop, "reconcile", ExitCode.OK)
        if heal.error is None:
            try:
                mission.platform.reset_coder_database()
            except PartError as error:
                heal.error = f"the database reset failed: {error}"
                continue
            _sample(mission, heal, "reconcile", ExitCode.HEALED)
    return measurements


def _sample(mission: Mission, into: Measurement, command: str, expected: ExitCode) -> bool:
    if into.error is not None:
        return False
    run, seconds = timed(lambda: mission.run(command))
    if run.exit_code != expected:
        last = (run.stderr.strip().splitlines() or ["(no stderr)"])[-1][:300]
        into.error = f"`{command}` exited {run.exit_code}, expected {int(expected)}: {last}"
        return False
    into.samples.append(seconds)
    into.runner_seconds.append(float(run.report.get("duration_seconds", 0.0)))
    return True
