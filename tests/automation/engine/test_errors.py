"""Pulumi CLI failures become runner errors with the right exit code, redacted."""

from __future__ import annotations

from datetime import UTC, datetime

from pulumi.automation import CommandResult
from pulumi.automation import errors as auto_errors

from automation.engine.errors import classify
from automation.errors import (
    ConfigInvalidError,
    NotConvergedError,
    StackLockedError,
    UpdateFailedError,
)
from coder_platform.contracts import ExitCode
from coder_platform.redaction import Redactor

LOCKED = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) "
    "to end or delete the lock file with `pulumi cancel`.\n"
    "  azblob://state/.pulumi/locks/organization/coder-platform/dev/5b1e.json: created by "
    "runner@coder-reconciler-dev-29441-x7 (pid 7) at 2026-01-21T03:00:00Z"
)


def error(stderr: str, code: int) -> auto_errors.CommandError:
    return auto_errors.create_command_error(CommandResult(stdout="", stderr=stderr, code=code))


def test_lock_conflict_maps_to_locked_with_each_holder_when_the_diy_backend_is_locked() -> None:
    result = classify(error(LOCKED, 255), "up", "dev", Redactor())
    assert isinstance(result, StackLockedError)
    assert result.exit_code == ExitCode.LOCKED
    [holder] = result.locks
    assert holder.holder == "runner@coder-reconciler-dev-29441-x7" and holder.pid == 7
    assert holder.created_at == datetime(2026, 1, 21, 3, 0, tzinfo=UTC)


def test_expect_no_changes_violation_maps_to_not_converged_when_the_cli_exits_7() -> None:
    result = classify(
        error("error: no changes were expected but changes occurred", 7),
        "preview",
        "dev",
        Redactor(),
    )
    assert isinstance(result, NotConvergedError)


def test_config_invalid_when_the_stack_is_missing_or_config_is_rejected() -> None:
    missing = classify(
        error("error: no stack named 'dev' found", 255), "stack select", "dev", Redactor()
    )
    config = classify(
        error("error: missing required configuration key", 2), "up", "dev", Redactor()
    )
    assert isinstance(missing, ConfigInvalidError) and isinstance(config, ConfigInvalidError)
    assert "pulumi stack init dev" in missing.action


def test_update_failed_keeps_the_redacted_last_error_line_when_a_resource_fails() -> None:
    stderr = (
        "Updating (dev):\nerror: update failed\n"
        "error: coderd: POST /users/first: password=Hunter2Hunter2 rejected"
    )
    result = classify(error(stderr, 4), "up", "dev", Redactor())
    assert isinstance(result, UpdateFailedError) and result.cli_exit_code == 4
    assert "coderd: POST /users/first" in result.what
    assert "Hunter2Hunter2" not in result.what


def test_the_failing_resource_is_the_message_when_a_cancellation_error_follows_it() -> None:
    stderr = (
        'error: Preview failed: resource "urn:pulumi:local::coder-platform::x$kubernetes:batch/'
        'v1:CronJob::reconciler-cron-job" was not successfully created: forbidden\n'
        "error: failed to run remediation: context canceled\n"
        "error: preview failed\n"
    )
    result = classify(error(stderr, 1), "preview", "local", Redactor())
    assert "reconciler-cron-job" in result.what and "forbidden" in result.what
