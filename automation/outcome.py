"""Run outcomes and the exit codes a scheduler and a human can both act on (contract C4).

One outcome per run, one exit code per outcome class. The codes sit above the Pulumi CLI's own
(1-9, 255) so a wrapper never confuses "the runner found drift" with "pulumi failed".
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2
    HEALED = 10
    DRIFT = 11
    POLICY_VIOLATION = 12
    DEPENDENCY_UNREACHABLE = 13
    LOCKED = 14
    CONFIG_INVALID = 15
    NOT_CONVERGED = 16
    UPDATE_FAILED = 17
    REFUSED = 18
    INTERNAL = 70


class Outcome(StrEnum):
    CONVERGED = "converged"
    PLANNED = "planned"
    APPLIED = "applied"
    HEALED = "healed"
    DRIFT = "drift"
    POLICY_VIOLATION = "policy-violation"
    DEPENDENCY_UNREACHABLE = "dependency-unreachable"
    LOCKED = "locked"
    CONFIG_INVALID = "config-invalid"
    NOT_CONVERGED = "not-converged"
    UPDATE_FAILED = "update-failed"
    REFUSED = "refused"
    INTERNAL_ERROR = "internal-error"


EXIT_CODES: dict[Outcome, ExitCode] = {
    Outcome.CONVERGED: ExitCode.OK,
    Outcome.PLANNED: ExitCode.OK,
    Outcome.APPLIED: ExitCode.OK,
    Outcome.HEALED: ExitCode.HEALED,
    Outcome.DRIFT: ExitCode.DRIFT,
    Outcome.POLICY_VIOLATION: ExitCode.POLICY_VIOLATION,
    Outcome.DEPENDENCY_UNREACHABLE: ExitCode.DEPENDENCY_UNREACHABLE,
    Outcome.LOCKED: ExitCode.LOCKED,
    Outcome.CONFIG_INVALID: ExitCode.CONFIG_INVALID,
    Outcome.NOT_CONVERGED: ExitCode.NOT_CONVERGED,
    Outcome.UPDATE_FAILED: ExitCode.UPDATE_FAILED,
    Outcome.REFUSED: ExitCode.REFUSED,
    Outcome.INTERNAL_ERROR: ExitCode.INTERNAL,
}

MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "converged (nothing to do), or a preview/up/destroy that succeeded",
    ExitCode.USAGE: "bad invocation, or `report` found no report yet",
    ExitCode.HEALED: "reconcile changed resources (drift or a Coder reset) and verified them",
    ExitCode.DRIFT: "drift found (`drift`); nothing was changed",
    ExitCode.POLICY_VIOLATION: "a mandatory policy failed; the violating resource was not applied",
    ExitCode.DEPENDENCY_UNREACHABLE: "Kubernetes API, Vault or Coder did not answer in time",
    ExitCode.LOCKED: "another run holds the stack lock (or a stale lock needs clearing)",
    ExitCode.CONFIG_INVALID: "stack config, backend or toolchain invalid; nothing was deployed",
    ExitCode.NOT_CONVERGED: "after acting, a preview still shows changes or a Coder check fails",
    ExitCode.UPDATE_FAILED: "the engine failed a resource operation (see the report's error)",
    ExitCode.REFUSED: "refused: protected stack, missing confirmation, or an unsafe state edit",
    ExitCode.INTERNAL: "a bug in the runner; the report holds the error class",
}


def exit_code(outcome: Outcome) -> ExitCode:
    return EXIT_CODES[outcome]


def exit_code_table() -> str:
    """The table printed in ``--help`` and documented in docs/runner.md."""
    return "\n".join(f"{int(code):>3}  {MEANINGS[code]}" for code in ExitCode)
