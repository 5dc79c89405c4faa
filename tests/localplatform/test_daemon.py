"""A background part: found again by its pid file, stopped, and reported gone when it exits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from localplatform.daemon import Daemon, PartError, write_private


def test_a_started_process_is_found_by_its_pid_file_and_stopped(tmp_path: Path) -> None:
    daemon = Daemon("sleeper", tmp_path)
    pid = daemon.start([sys.executable, "-c", "import time; time.sleep(60)"], os.environ)
    assert Daemon("sleeper", tmp_path).pid() == pid
    assert daemon.stop(seconds=5)
    assert daemon.pid() is None
    assert not daemon.pid_file.exists()


def test_waiting_fails_naming_the_part_and_its_log_when_it_exits(tmp_path: Path) -> None:
    daemon = Daemon("crasher", tmp_path)
    daemon.start([sys.executable, "-c", "print('boom: bad flag'); raise SystemExit(3)"], os.environ)
    with pytest.raises(PartError, match=r"crasher exited before ready(.|\n)*boom: bad flag"):
        daemon.wait_until(lambda: False, "ready", 10)


def test_private_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "token"
    write_private(path, "not-printed")
    assert path.stat().st_mode & 0o777 == 0o600
