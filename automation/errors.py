"""The runner's one exception hierarchy: each class is an outcome with its exit code.

Every message has two parts: ``what`` failed (naming the key, resource or endpoint) and the
``action`` that fixes it, so the last line a human or a CronJob log shows is actionable (C4).
Messages never carry a secret: callers pass them through the redactor before printing (C2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from automation.outcome import Outcome, exit_code
from coder_platform.contracts import ExitCode


class RunnerError(Exception):
    outcome: ClassVar[Outcome] = Outcome.INTERNAL_ERROR

    def __init__(self, what: str, action: str) -> None:
        self.what = what.rstrip(". ")
        self.action = action
        super().__init__(self.line)

    @property
    def line(self) -> str:
        """The single closing line: what failed, then what to do."""
        return f"{self.what}. {self.action}"

    @property
    def exit_code(self) -> ExitCode:
        return exit_code(self.outcome)


def failure_reason(error: BaseException) -> str:
    """The short reason a phase failed, for its row in the report and the live view."""
    if isinstance(error, RunnerError):
        return error.what
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return f"unexpected {type(error).__name__}"


class ConfigInvalidError(RunnerError):
    """C1: the stack config, the backend settings or the toolchain is not usable."""

    outcome = Outcome.CONFIG_INVALID


class UnknownStackError(ConfigInvalidError):
    """``--stack`` names no stack file: refused before anything is created for that name
    (no state, no report directory), so a typo leaves nothing behind."""


class DependencyUnreachableError(RunnerError):
    """P1: a dependency did not answer within the bounded retry."""

    outcome = Outcome.DEPENDENCY_UNREACHABLE


@dataclass(frozen=True)
class LockHolder:
    """One DIY-backend lock file, as Pulumi reports it (no secret in any field)."""

    path: str
    holder: str
    pid: int | None
    created_at: datetime | None


class StackLockedError(RunnerError):
    """Another update holds the stack's backend lock (or a killed run left it behind)."""

    outcome = Outcome.LOCKED

    def __init__(self, what: str, action: str, locks: Sequence[LockHolder] = ()) -> None:
        self.locks = tuple(locks)
        super().__init__(what, action)


class PolicyViolationError(RunnerError):
    outcome = Outcome.POLICY_VIOLATION


class UpdateFailedError(RunnerError):
    """The engine failed; ``cli_exit_code`` is the Pulumi CLI's own code when it gave one."""

    outcome = Outcome.UPDATE_FAILED

    def __init__(self, what: str, action: str, cli_exit_code: int | None = None) -> None:
        self.cli_exit_code = cli_exit_code
        super().__init__(what, action)


class NotConvergedError(RunnerError):
    outcome = Outcome.NOT_CONVERGED


class RefusedError(RunnerError):
    """A guard said no: protected stack, no typed confirmation, an unsafe state edit, or a
    scope guard (``automation/scope.py``)."""

    outcome = Outcome.REFUSED


class InterruptedRunError(RunnerError):
    """SIGTERM or ^C stopped the run: the engine was cancelled gracefully (in-flight steps
    finished, the checkpoint written, the stack lock released), so nothing is left to clear."""

    outcome = Outcome.NOT_CONVERGED


class InternalError(RunnerError):
    outcome = Outcome.INTERNAL_ERROR
