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
from automation.operations import naming_the_failure
from automation.reporting.collector import EventCollector
from automation.reporting.events import Diagnostic, StepEvent
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


PROVIDER_TRACEBACK = (
    "  pulumi-python:dynamic/coder:CoderUser (coder-seed-user-platform-admin):\n"
    "    error: Traceback (most recent call last):\n"
    '      File "/venv/lib/python3.11/site-packages/pulumi/dynamic/__main__.py", line 130, '
    "in Read\n"
    "        result = provider.read(id_, props)\n"
    '      File "/project/components/providers/coder_user.py", line 88, in read\n'
    "        user = coder.get_user(props['username'])\n"
    "    coder_platform.coder_api.errors.CoderApiError: GET /api/v2/users/platform-admin failed "
    "(HTTP 500): Internal error fetching user.\n"
    "\n"
    "  pulumi:pulumi:Stack (coder-platform-local):\n"
    "    error: preview failed\n"
)
URN = (
    "urn:pulumi:local::coder-platform::coder-platform:seeding:CoderSeed$pulumi-python:dynamic/"
    "coder:CoderUser::coder-seed-user-platform-admin"
)


def test_a_provider_traceback_reads_as_the_exception_it_ended_with_never_its_header() -> None:
    result = classify(error(PROVIDER_TRACEBACK, 1), "preview", "local", Redactor())
    assert isinstance(result, UpdateFailedError)
    assert "Traceback (most recent call last)" not in result.what
    assert "CoderApiError: GET /api/v2/users/platform-admin failed (HTTP 500)" in result.what


def test_the_failure_names_the_failing_urn_and_the_engine_line_when_events_name_a_resource() -> (
    None
):
    collector = EventCollector("update")
    collector(StepEvent("failed", URN, "pulumi-python:dynamic/coder:CoderUser", "refresh"))
    collector(Diagnostic("error", PROVIDER_TRACEBACK.split("\n", 1)[1], URN))
    cli = classify(
        error("error: Traceback (most recent call last):\n", 1), "preview", "local", Redactor()
    )
    assert isinstance(cli, UpdateFailedError)

    named = naming_the_failure(cli, collector)

    assert named.what.startswith(f"pulumi preview failed (CLI exit 1) at {URN}: ")
    assert named.what.endswith("Internal error fetching user")
    assert "Traceback" not in named.what and named.exit_code == ExitCode.UPDATE_FAILED


def test_the_failure_keeps_the_engine_message_when_no_event_names_a_resource() -> None:
    cli = classify(error("error: update failed: boom\n", 4), "up", "local", Redactor())
    assert isinstance(cli, UpdateFailedError)
    assert naming_the_failure(cli, EventCollector("update")) is cli
