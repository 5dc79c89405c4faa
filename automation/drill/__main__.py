"""``python -m automation.drill``: one restore drill, as the ``RestoreDrill`` CronJob runs it.

Settings come from the pod's environment (``coder_platform.drill_settings``). The result is one
JSON line on stdout (the Job's log is the evidence), metrics to the Pushgateway and/or a
textfile, and the exit code: 0 the backups restored, 1 the drill failed, 2 it could not start.
A metrics failure is printed and does not change the exit code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import httpx

from automation.drill import metrics
from automation.drill.coder_tables import psycopg_tables
from automation.drill.kube import DrillError, InClusterKubeApi
from automation.drill.run import RestoreDrillResult, run_restore_drill
from coder_platform.contracts import METRICS_TEXTFILE_ENV
from coder_platform.drill_settings import DrillSettings, DrillSettingsError


def summary(result: RestoreDrillResult) -> dict[str, Any]:
    return {
        "kind": "restore-drill",
        "stack": result.stack,
        "success": result.success,
        "started_at": result.started_at.isoformat(),
        "duration_seconds": result.duration_seconds,
        "rto_seconds": result.rto_seconds,
        "rpo_seconds": result.rpo_seconds,
        "users": result.users,
        "templates": result.templates,
        "newest_row_at": result.newest_row_at.isoformat() if result.newest_row_at else None,
        "newest_source": result.newest_source,
        "workload_identity_ok": result.identity_ok,
        "cleanup_ok": result.cleanup_ok,
        "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in result.steps],
    }


def record(
    result: RestoreDrillResult, settings: DrillSettings, environ: Mapping[str, str], out: TextIO
) -> None:
    if settings.pushgateway:
        try:
            metrics.push(settings.pushgateway, result)
        except httpx.HTTPError as error:
            out.write(
                json.dumps(
                    {"kind": "note", "message": f"metrics push failed: {type(error).__name__}"}
                )
                + "\n"
            )
    if environ.get(METRICS_TEXTFILE_ENV):
        try:
            metrics.write_textfile(Path(environ[METRICS_TEXTFILE_ENV]), result)
        except OSError as error:
            out.write(
                json.dumps({"kind": "note", "message": f"metrics textfile not written: {error}"})
                + "\n"
            )


def main(environ: Mapping[str, str] = os.environ, out: TextIO = sys.stdout) -> int:
    try:
        settings = DrillSettings.from_environ(environ)
        kube = InClusterKubeApi(environ)
    except (DrillSettingsError, DrillError) as error:
        out.write(json.dumps({"kind": "error", "message": str(error)}) + "\n")
        return 2
    try:
        result = run_restore_drill(settings, kube, psycopg_tables)
    finally:
        kube.close()
    record(result, settings, environ, out)
    out.write(json.dumps(summary(result)) + "\n")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
