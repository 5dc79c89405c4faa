"""The life of one run: set up, run a command body, always record (the operator's "record").

Whatever happens, a run ends with a report (file, ``latest.json`` and stdout), optional
metrics, and, when it failed, one last line saying what failed and what to do. An unexpected
exception is a runner bug: it still gets a report and exit code 70, its message redacted.

stdout carries only the requested output (the report as JSON, or the human summary); progress,
notes and the closing error line go to stderr. A reader that closes the pipe early does not
change the exit code (``reporting/streams.py``). An unknown stack name writes no report file:
a typo must not leave a ``.reports/<typo>/`` behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, TextIO

import httpx

from automation.engine.backend import (
    BackendSettings,
    resolve_backend,
    stack_environment,
)
from automation.engine.locks import HostRunLock, cancel_command, with_recovery
from automation.engine.protocol import StackEngine
from automation.errors import (
    InternalError,
    InterruptedRunError,
    RunnerError,
    StackLockedError,
    UnknownStackError,
)
from automation.outcome import Outcome
from automation.reporting import metrics
from automation.reporting.progress import JsonLinesProgress, ProgressSink, RichProgress
from automation.reporting.render import console_for, render
from automation.reporting.report import (
    CoderWritesReport,
    PhaseReport,
    ReportBuilder,
    RunReport,
    redacted,
    write_report,
)
from automation.reporting.streams import write_safely
from automation.session import Session
from coder_platform import coder_writes
from coder_platform.contracts import CODER_WRITE_LOG_ENV, PROJECT
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
        else RichProgress(console_for(streams.stderr), redactor)
    )
    builder = ReportBuilder(settings.command, settings.stack)
    backend: BackendSettings | None = None
    persist = True
    try:
        environment = stack_environment(settings.work_dir, settings.stack)
        backend = resolve_backend(settings.work_dir, environ, environment)
        for note in backend.notes:
            builder.notes.append(note)
            progress.note(note)
        with HostRunLock(backend.url, settings.stack), _coder_write_log() as write_log:
            engine = engine_factory(settings.stack, settings.work_dir, backend, redactor)
            engine.set_env(CODER_WRITE_LOG_ENV, str(write_log))
            session = Session(
                settings.stack, engine, builder, progress, redactor, environment=environment
            )
            try:
                outcome = body(session)
            finally:
                builder.coder_writes = [
                    CoderWritesReport(**asdict(w)) for w in coder_writes.summarize(write_log)
                ]
        report = builder.finish(outcome)
    except StackLockedError as error:
        report = builder.finish(error.outcome, _recoverable(error, settings, backend))
    except UnknownStackError as error:
        persist = False
        report = builder.finish(error.outcome, error)
    except RunnerError as error:
        report = builder.finish(error.outcome, error)
    except KeyboardInterrupt as interrupt:  # SIGTERM (automation/termination.py) or ^C
        report = builder.finish(
            Outcome.NOT_CONVERGED,
            InterruptedRunError(
                f"the run was stopped ({interrupt or 'SIGINT'}) before it converged; an engine "
                "operation in flight was cancelled the graceful way, which releases the stack lock",
                "Nothing to clear: the next run continues from the saved state (if a lock was "
                "left all the same, that run names it and the command that clears it)",
            ),
        )
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
    return record(report, settings, redactor, streams, json_mode=json_mode, persist=persist)


@contextmanager
def _coder_write_log() -> Iterator[Path]:
    """A file of this run's own, in a directory removed after the run, that the provider host
    appends the seeded resources' Coder writes to (``coder_platform.coder_writes``)."""
    with tempfile.TemporaryDirectory(prefix="coder-platform-writes-") as directory:
        yield Path(directory) / "coder-writes.jsonl"


def _recoverable(
    error: StackLockedError, settings: RunSettings, backend: BackendSettings | None
) -> StackLockedError:
    """The lock error with the exact command that clears it (and whether its holder died)."""
    if backend is None:
        return error
    cancel = cancel_command(
        settings.stack, backend.url, PROJECT, shutil.which("pulumi") or "pulumi"
    )
    return with_recovery(error, settings.stack, cancel, can_break=settings.command == "reconcile")


def record(
    report: RunReport,
    settings: RunSettings,
    redactor: Redactor,
    streams: Streams,
    *,
    json_mode: bool,
    persist: bool = True,
) -> RunReport:
    start = time.monotonic()
    if not persist:
        report.notes.append("no report file written: the stack name is unknown")
    elif settings.metrics_textfile is not None:
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
    path: Path | None = None
    if persist:
        try:
            path = write_report(report, settings.report_dir)
        except OSError as error:
            report.notes.append(f"report file not written: {error}")
    if json_mode:
        write_safely(streams.stdout, report.to_json() + "\n")
    else:
        _print_human(report, path, streams.stdout)
    if report.error is not None:
        line = f"{report.error.message}. {report.error.action}"
        if json_mode:
            line = json.dumps({"kind": "error", "exit_code": report.exit_code, "message": line})
        else:
            line = f"error: {line}"
        write_safely(streams.stderr, line + "\n")
    return report


def _print_human(report: RunReport, path: Path | None, stream: TextIO) -> None:
    """The summary for humans (the error line follows on stderr, last)."""
    render(report.model_copy(update={"error": None}), console_for(stream))
    if path is not None:
        write_safely(stream, f"report: {path}\n")
