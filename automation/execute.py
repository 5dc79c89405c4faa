"""The life of one run: set up, run a command body, always record (the operator's "record").

Whatever happens, a run ends with a report (file, ``latest.json`` and stdout), optional
metrics, and, when it failed, one last line saying what failed and what to do. An unexpected
exception is a runner bug: it still gets a report and exit code 70, its message redacted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import httpx
from rich.console import Console

from automation.engine.backend import BackendSettings, resolve_backend, stack_environment
from automation.engine.locks import HostRunLock
from automation.engine.protocol import StackEngine
from automation.errors import InternalError, RunnerError
from automation.outcome import Outcome
from automation.reporting import metrics
from automation.reporting.progress import JsonLinesProgress, ProgressSink, RichProgress
from automation.reporting.render import render
from automation.reporting.report import (
    PhaseReport,
    ReportBuilder,
    RunReport,
    redacted,
    write_report,
)
from automation.session import Session
from coder_platform.redaction import Redactor

OutputMode = Literal["auto", "human", "json"]
EngineFactory = Callable[[str, Path, BackendSettings, Redactor], StackEngine]


@dataclass(frozen=True)
class RunSettings:
    command: str
    stack: str
    work_dir: Path
    report_dir: Path
    output: OutputMode = "auto"
    metrics_textfile: Path | None = None
    pushgateway: str | None = None


@dataclass(frozen=True)
class Streams:
    stdout: TextIO
    stderr: TextIO


def execute(
    settings: RunSettings,
    body: Callable[[Session], Outcome],
    engine_factory: EngineFactory,
    environ: Mapping[str, str],
    streams: Streams,
) -> RunReport:
    redactor = Redactor.from_environment(environ)
    json_mode = settings.output == "json" or (
        settings.output == "auto" and not streams.stdout.isatty()
    )
    progress: ProgressSink = (
        JsonLinesProgress(streams.stderr, redactor)
        if json_mode
        else RichProgress(Console(file=streams.stderr), redactor)
    )
    builder = ReportBuilder(settings.command, settings.stack)
    try:
        environment = stack_environment(settings.work_dir, settings.stack)
        backend = resolve_backend(settings.work_dir, environ, environment)
        for note in backend.notes:
            builder.notes.append(note)
            progress.note(note)
        with HostRunLock(backend.url, settings.stack):
            engine = engine_factory(settings.stack, settings.work_dir, backend, redactor)
            session = Session(settings.stack, engine, builder, progress, redactor)
            outcome = body(session)
        report = builder.finish(outcome)
    except RunnerError as error:
        report = builder.finish(error.outcome, error)
    except Exception as error:  # the run boundary: a bug still leaves evidence (C4)
        report = builder.finish(
            Outcome.INTERNAL_ERROR,
            InternalError(
                f"unexpected {type(error).__name__}: {error}",
                "This is a runner bug: file an issue with this run's report attached",
            ),
        )
    finally:
        progress.close()
    return record(report, settings, redactor, streams, json_mode=json_mode)


def record(
    report: RunReport,
    settings: RunSettings,
    redactor: Redactor,
    streams: Streams,
    *,
    json_mode: bool,
) -> RunReport:
    start = time.monotonic()
    if settings.metrics_textfile is not None:
        try:
            metrics.write_textfile(settings.metrics_textfile, report)
        except OSError as error:
            report.notes.append(f"metrics textfile not written: {error}")
    if settings.pushgateway:
        try:
            metrics.push(settings.pushgateway, report)
        except httpx.HTTPError as error:
            report.notes.append(f"metrics push failed: {type(error).__name__}")
    report.phases.append(
        PhaseReport(name="record", status="ok", duration_seconds=round(time.monotonic() - start, 3))
    )
    report = redacted(report, redactor)
    try:
        path: Path | None = write_report(report, settings.report_dir)
    except OSError as error:
        path = None
        report.notes.append(f"report file not written: {error}")
    if json_mode:
        streams.stdout.write(report.to_json() + "\n")
    else:
        render(report.model_copy(update={"error": None}), Console(file=streams.stdout))
        if path is not None:
            streams.stdout.write(f"report: {path}\n")
    if report.error is not None:
        line = f"{report.error.message}. {report.error.action}"
        if json_mode:
            streams.stderr.write(
                json.dumps({"kind": "error", "exit_code": report.exit_code, "message": line}) + "\n"
            )
        else:
            streams.stderr.write(f"error: {line}\n")
    streams.stdout.flush()
    streams.stderr.flush()
    return report
