"""One background server process: started detached, found again by its pid file, stopped.

Each part of the local platform outlives the command that started it (``up`` returns while
Coder keeps running), so a part is a pid file and a log in its own directory, not a child
handle. Nothing here prints a secret: secrets reach servers through files and environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class PartError(RuntimeError):
    """A part did not start or stop; the message names it and ends with its log's tail."""


def _alive(pid: int) -> bool:
    # Reap it if it is our own exited child (a zombie still answers kill 0).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class Daemon:
    """A named server process whose pid file and log live in ``directory``."""

    name: str
    directory: Path

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.directory / f"{self.name}.pid"

    def pid(self) -> int | None:
        """The running process's pid, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if _alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd or self.directory,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        return process.pid

    def stop(self, stop_signal: signal.Signals = signal.SIGTERM, seconds: float = 30) -> bool:
        """Signal the process and wait for it; SIGKILL after ``seconds``. False if not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, stop_signal)
        deadline = time.monotonic() + seconds
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
            time.sleep(0.2)
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 25) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, check: Callable[[], bool], what: str, seconds: float) -> None:
        """Poll ``check`` until it holds; fail naming the part if it exits or times out."""
        import httpx  # here, not at the top: a health check that starts nothing needs no httpx

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise PartError(f"{self.name} exited before {what}; its log ends:\n{self.tail()}")
            try:
                if check():
                    return
            except (httpx.HTTPError, OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.3)
        raise PartError(
            f"{self.name}: not {what} after {seconds:.0f}s; its log ({self.log}) ends:\n"
            f"{self.tail()}"
        )


def write_private(path: Path, text: str) -> None:
    """A file only this user can read, created so (never world-readable for an instant)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)
