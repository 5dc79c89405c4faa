"""Locks (stale handling, host lock) and backend selection (embedded default vs managed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automation.engine.backend import LOCAL_STATE_DIR, resolve_backend
from automation.engine.locks import (
    HostRunLock,
    all_stale,
    file_backend_locks,
    parse_duration,
    remove_torn_checkpoint_attributes,
)
from automation.errors import ConfigInvalidError, LockHolder, StackLockedError
from coder_platform.contracts import LOCAL_ONLY_PASSPHRASE

NOW = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)


def test_durations_parse_when_written_as_break_stale_lock_after_expects() -> None:
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1d") == timedelta(days=1)
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


def test_locks_are_stale_only_when_every_age_is_known_and_above_the_threshold() -> None:
    old = LockHolder("a", "u@h", 1, NOW - timedelta(hours=3))
    young = LockHolder("b", "u@h", 2, NOW - timedelta(minutes=5))
    unknown = LockHolder("c", "u@h", None, None)
    assert all_stale([old], timedelta(hours=2), NOW)
    assert not all_stale([old, young], timedelta(hours=2), NOW)
    assert not all_stale([old, unknown], timedelta(hours=2), NOW)
    assert not all_stale([], timedelta(hours=2), NOW)


def test_locks_are_read_without_the_cli_when_the_backend_is_a_file_backend(tmp_path: Path) -> None:
    lock_dir = tmp_path / ".pulumi" / "locks" / "organization" / "coder-platform" / "dev"
    lock_dir.mkdir(parents=True)
    (lock_dir / "9f2c.json").write_text(
        json.dumps(
            {
                "pid": 4242,
                "username": "runner",
                "hostname": "ci-7",
                "timestamp": "2026-01-21T09:00:00.123456789Z",
            }
        )
    )
    [holder] = file_backend_locks(tmp_path.as_uri(), "coder-platform", "dev")
    assert holder.holder == "runner@ci-7" and holder.pid == 4242
    assert holder.created_at is not None and holder.created_at.hour == 9
    assert file_backend_locks("azblob://state", "coder-platform", "dev") == []


def test_second_runner_is_locked_out_when_the_first_runs_on_the_same_host(
    tmp_path: Path,
) -> None:
    with HostRunLock("file:///state", "dev", tmp_path):
        with pytest.raises(StackLockedError, match="another runner process"):
            HostRunLock("file:///state", "dev", tmp_path).__enter__()
        with HostRunLock("file:///state", "prod", tmp_path):
            pass  # another stack is independent
    with HostRunLock("file:///state", "dev", tmp_path):
        pass  # released when the first run ended


def test_embedded_backend_and_local_passphrase_are_used_when_nothing_is_configured(
    tmp_path: Path,
) -> None:
    settings = resolve_backend(tmp_path, {}, "local")
    assert settings.embedded and settings.url == (tmp_path / LOCAL_STATE_DIR).resolve().as_uri()
    assert settings.env["PULUMI_CONFIG_PASSPHRASE"] == LOCAL_ONLY_PASSPHRASE
    assert settings.secrets_provider == "passphrase"
    assert LOCAL_ONLY_PASSPHRASE not in repr(settings)


def test_embedded_backend_is_refused_when_the_stack_is_managed(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalidError, match="PULUMI_BACKEND_URL"):
        resolve_backend(tmp_path, {}, "prod")


def test_real_passphrase_is_required_when_a_backend_is_configured(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalidError, match="PULUMI_CONFIG_PASSPHRASE"):
        resolve_backend(tmp_path, {"PULUMI_BACKEND_URL": "azblob://state"}, "local")
    settings = resolve_backend(
        tmp_path,
        {
            "PULUMI_BACKEND_URL": "azblob://state",
            "CODER_PLATFORM_SECRETS_PROVIDER": "azurekeyvault://kv.vault.azure.net/keys/k",
        },
        "dev",
    )
    assert not settings.embedded and "PULUMI_CONFIG_PASSPHRASE" not in settings.env
    assert settings.secrets_provider.startswith("azurekeyvault://")


def test_unknown_stack_is_refused_before_anything_is_created() -> None:
    from automation.engine.backend import stack_environment

    root = Path(__file__).resolve().parents[3]
    with pytest.raises(ConfigInvalidError) as caught:
        stack_environment(root, "prdo")
    assert "unknown stack 'prdo'" in str(caught.value)
    assert "dev, dev-operators, local, node, prod, prod-operators" in caught.value.action
    assert not (root / "stacks" / "Pulumi.prdo.yaml").exists()


def test_known_stack_environment_is_read_from_its_file() -> None:
    from automation.engine.backend import stack_environment

    root = Path(__file__).resolve().parents[3]
    assert stack_environment(root, "prod") == "prod"


def _checkpoint(root: Path, attrs: bytes) -> tuple[Path, Path]:
    stacks = root / ".pulumi" / "stacks" / "coder-platform"
    stacks.mkdir(parents=True)
    checkpoint = stacks / "local.json"
    checkpoint.write_text('{"version": 3}')
    sidecar = stacks / "local.json.attrs"
    sidecar.write_bytes(attrs)
    return checkpoint, sidecar


def test_an_empty_attributes_sidecar_is_removed_when_a_killed_cli_left_it(tmp_path: Path) -> None:
    checkpoint, sidecar = _checkpoint(tmp_path, b"")
    removed = remove_torn_checkpoint_attributes(f"file://{tmp_path}", "coder-platform", "local")
    assert removed == [sidecar]
    assert not sidecar.exists()
    assert checkpoint.read_text() == '{"version": 3}'


def test_a_whole_attributes_sidecar_is_kept_when_it_has_content(tmp_path: Path) -> None:
    _, sidecar = _checkpoint(tmp_path, b'{"user.content-type": "application/json"}')
    assert remove_torn_checkpoint_attributes(f"file://{tmp_path}", "coder-platform", "local") == []
    assert sidecar.exists()
    assert remove_torn_checkpoint_attributes("azblob://state", "coder-platform", "local") == []
