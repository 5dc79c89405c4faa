"""What every command works with: the engine, the report being built, progress, redaction."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from automation.engine.protocol import StackEngine
from automation.errors import ConfigInvalidError, failure_reason
from automation.reporting.progress import ProgressSink
from automation.reporting.report import ReportBuilder
from automation.scope import refuse_operators_scope_in_cluster
from coder_platform.config import ConfigError, PlatformConfig, load_config, raw_stack_config
from coder_platform.redaction import Redactor


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Session:
    stack: str
    engine: StackEngine
    report: ReportBuilder
    progress: ProgressSink
    redactor: Redactor
    now: Callable[[], datetime] = field(default=utc_now)
    # coder-platform:environment from the stack file, read once per run before any CLI call.
    environment: str | None = None


@contextmanager
def phase(session: Session, name: str) -> Iterator[list[str]]:
    """A named phase: timed in the report, announced in the progress view."""
    session.progress.phase(name, "running")
    with session.report.phase(name) as detail:
        try:
            yield detail
        except BaseException as error:
            session.progress.phase(name, "failed", "; ".join(detail) or failure_reason(error))
            raise
    session.progress.phase(name, "ok", "; ".join(detail))


def validate_config(session: Session, environ: Mapping[str, str] | None = None) -> PlatformConfig:
    """Contract C1 on the stack's own config, before any engine operation runs the program;
    and an operators-scope stack is refused in-cluster, before anything runs.

    Secret values reach the redactor first; ``ConfigError`` messages never echo values.
    """
    entries = session.engine.config()
    session.redactor.add(*(entry.value for entry in entries.values() if entry.secret))
    try:
        config = load_config(raw_stack_config({key: e.value for key, e in entries.items()}))
    except ConfigError as error:
        raise ConfigInvalidError(
            f"invalid stack configuration: {'; '.join(str(i) for i in error.issues)}",
            f"Fix these keys in stacks/Pulumi.{session.stack}.yaml "
            "(pulumi config set --path 'coder-platform:<key>' <value>); nothing was deployed",
        ) from None
    refuse_operators_scope_in_cluster(
        session.stack, config, os.environ if environ is None else environ
    )
    return config
