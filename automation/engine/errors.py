"""Classify Pulumi CLI failures into runner errors (one outcome, one exit code each).

``pulumi.automation`` raises ``CommandError`` subclasses found by matching the CLI's output, and
the CLI's exit code (3.227+: 2 config, 3 auth, 4 resource, 6 stack not found, 7 expect-no-changes
violated, 8 cancelled, 9 timeout, 255 internal) appears only in ``str(error)``. The message kept
is the CLI's last ``error:`` line, redacted and bounded: the full output can be long and can echo
values (C2).
"""

from __future__ import annotations

import re

from pulumi.automation import errors as auto_errors

from automation.engine.locks import parse_lock_holders
from automation.errors import (
    ConfigInvalidError,
    NotConvergedError,
    RunnerError,
    StackLockedError,
    UpdateFailedError,
)
from coder_platform.redaction import Redactor

MAX_MESSAGE = 400
_CODE = re.compile(r"^\s*code: (-?\d+)\s*$", re.M)
# str(CommandError) puts " stdout: " / " stderr: " before the first line of each stream.
_STREAM = re.compile(r"^(?:stdout|stderr): ")


def cli_exit_code(text: str) -> int | None:
    match = _CODE.search(text)
    return int(match.group(1)) if match else None


TRACEBACK_HEADER = "Traceback (most recent call last):"
# The line that ends a Python traceback: the exception's (dotted) type, then its message.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")


def _said(line: str) -> str:
    return line.removeprefix("error:").removeprefix("ERROR:").strip()


def _traceback_end(lines: list[str], header: int) -> str | None:
    """The exception line closing the traceback whose header is ``lines[header]``."""
    for line in lines[header + 1 :]:
        if _EXCEPTION_LINE.match(_said(line)):
            return _said(line)
    return None


def meaningful_line(lines: list[str], chosen: int) -> str:
    """``lines[chosen]`` without its ``error:`` prefix, unless it is a bare traceback header:
    then the exception line that ends that traceback (what a dynamic provider raised), so a
    failed run never reads "Traceback (most recent call last):" and nothing more."""
    said = _said(lines[chosen])
    if said.startswith(TRACEBACK_HEADER):
        return _traceback_end(lines, chosen) or said
    return said


def last_meaningful_line(text: str) -> str:
    """The last meaningful line of one message (an engine diagnostic, a provider's error)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "no output"
    headers = [i for i, line in enumerate(lines) if _said(line).startswith(TRACEBACK_HEADER)]
    if headers:
        return meaningful_line(lines, headers[-1])[:MAX_MESSAGE]
    return _said(lines[-1])[:MAX_MESSAGE]


def last_error_line(text: str) -> str:
    """The CLI's most telling ``error:`` line: one naming a resource when there is one (the
    engine follows a failed step with "context canceled" and "update failed" lines that name
    nothing), else a provider's traceback (replaced by the exception that ends it), else the
    last."""
    lines = [_STREAM.sub("", line.strip()) for line in text.splitlines() if line.strip()]
    if not lines:
        return "no output"
    errors = [i for i, line in enumerate(lines) if line.lower().startswith("error:")]
    naming = [i for i in errors if "urn:pulumi:" in lines[i]]
    # A provider's traceback says more than the "preview failed" the engine closes with.
    tracebacks = [i for i in errors if _said(lines[i]).startswith(TRACEBACK_HEADER)]
    chosen = (naming or tracebacks or errors or [len(lines) - 1])[-1]
    return meaningful_line(lines, chosen)[:MAX_MESSAGE]


def classify(
    error: auto_errors.CommandError, operation: str, stack: str, redactor: Redactor
) -> RunnerError:
    text = str(error)
    code = cli_exit_code(text)
    detail = redactor(last_error_line(text))
    if isinstance(error, auto_errors.ConcurrentUpdateError):
        return StackLockedError(
            f"stack {stack} is locked by another update",
            f"Wait for it to finish, or clear a stale lock with `pulumi cancel --stack {stack} "
            "--yes`",
            parse_lock_holders(text),
        )
    if isinstance(error, auto_errors.StackNotFoundError) or code == 6:
        return ConfigInvalidError(
            f"stack {stack} does not exist in this backend",
            "Check PULUMI_BACKEND_URL, or create the stack once with `pulumi stack init "
            f"{stack} --secrets-provider <provider>`",
        )
    if code == 7:
        return NotConvergedError(
            f"pulumi {operation} expected no changes but found some",
            "Read the report's planned changes: the program and the live state still disagree",
        )
    if code == 2 or isinstance(error, auto_errors.CompilationError):
        return ConfigInvalidError(
            f"pulumi {operation} rejected the configuration: {detail}",
            f"Fix the stack config in stacks/Pulumi.{stack}.yaml and rerun",
        )
    if code == 3:
        return UpdateFailedError(
            f"pulumi {operation} could not authenticate: {detail}",
            "Check the backend and cloud credentials of this runner (workload identity, "
            "VAULT_TOKEN, kubeconfig)",
            code,
        )
    return UpdateFailedError(
        f"pulumi {operation} failed (CLI exit {code if code is not None else 'unknown'}): {detail}",
        "Read the report's failed list (each failing URN with the engine's message) and "
        "diagnostics, fix that resource, then rerun",
        code,
    )
