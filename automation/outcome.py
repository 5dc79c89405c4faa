"""Run outcomes and the exit codes a scheduler and a human can both act on (contract C4).

One outcome per run, one exit code per outcome class. The codes sit above the Pulumi CLI's own
(1-9, 255) so a wrapper never confuses "the runner found drift" with "pulumi failed".

Drift (what the world changed) and a pending change (what the code or config wants changed) are
different outcomes: ``drift`` exits 11 only for drift, and 0 with ``pending`` when a merged
change merely waits for its run, so a scheduler alerting on drift never pages for a PR. A
reconcile that changed things exits 10 whatever the reason; its outcome word says which
(``created`` on a first deploy, ``healed`` for drift or a Coder reset, ``updated`` for code or
config changes).
"""

from __future__ import annotations

from enum import StrEnum

from coder_platform.contracts import ExitCode


class Outcome(StrEnum):
    CONVERGED = "converged"
    PLANNED = "planned"
    APPLIED = "applied"
    PENDING = "pending"
    CREATED = "created"
    HEALED = "healed"
    UPDATED = "updated"
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
    Outcome.PENDING: ExitCode.OK,
    Outcome.CREATED: ExitCode.HEALED,
    Outcome.HEALED: ExitCode.HEALED,
    Outcome.UPDATED: ExitCode.HEALED,
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
    ExitCode.OK: "converged (nothing to do), a preview/up/destroy that succeeded, or `drift` "
    "found no drift (code or config changes waiting for a run are listed as pending)",
    ExitCode.USAGE: "bad invocation, or `report` found no report yet",
    ExitCode.HEALED: "reconcile changed resources and verified them: created (first deploy), "
    "healed (drift or a Coder reset) or updated (code or config changes)",
    ExitCode.DRIFT: "drift found (`drift`): the live state changed outside the program; "
    "nothing was changed",
    ExitCode.POLICY_VIOLATION: "a mandatory policy failed; the violating resource was not applied",
    ExitCode.DEPENDENCY_UNREACHABLE: (
        "Kubernetes API, Vault or Coder did not answer in time (or Coder answers but its "
        "database does not)"
    ),
    ExitCode.LOCKED: "another run holds the stack lock (or a stale lock needs clearing)",
    ExitCode.CONFIG_INVALID: "stack config, backend or toolchain invalid; nothing was deployed",
    ExitCode.NOT_CONVERGED: "after acting, a preview still shows changes, an object the stack "
    "owns is being deleted, or a Coder check fails; or SIGTERM stopped the run",
    ExitCode.UPDATE_FAILED: "the engine failed a resource operation (the report's failed list "
    "names it, with the engine's message)",
    ExitCode.REFUSED: (
        "refused: protected stack, missing confirmation, an unsafe state edit, or a scope guard "
        "(an operators-scope stack in-cluster, an update that would uninstall the operators)"
    ),
    ExitCode.INTERNAL: "a bug in the runner; the report holds the error class",
}


def exit_code(outcome: Outcome) -> ExitCode:
    return EXIT_CODES[outcome]


def changed_outcome(*, first_deploy: bool, healed: bool) -> Outcome:
    """What a reconcile that changed resources did: every one of them exits 10."""
    if healed:
        return Outcome.HEALED
    return Outcome.CREATED if first_deploy else Outcome.UPDATED


def exit_code_table() -> str:
    """The table printed in ``--help`` and documented in docs/runner.md."""
    return "\n".join(f"{int(code):>3}  {MEANINGS[code]}" for code in ExitCode)
