"""Stack locks: reading Pulumi's DIY lock files, judging staleness, and a per-host run lock.

Pulumi's DIY backends keep one JSON file per running update under
``.pulumi/locks/organization/<project>/<stack>/`` and name each in the "currently locked" error
(``<url>: created by user@host (pid N) at <RFC 3339>``). A killed run leaves its file behind;
Pulumi's documented fix is ``pulumi cancel``, which deletes it. The runner never does that
silently: it reports the lock's holder and age with the command to clear it, and clears it only
when asked with ``--break-stale-lock-after`` (and logs exactly what it removed).

``HostRunLock`` adds an OS lock (``flock``) so two runners on one host cannot overlap even in the
phases before Pulumi takes its own lock; the kernel drops it when a run dies, so it cannot go stale.

``with_recovery`` makes the locked message exact: a lock whose holder is a process of this host
that no longer runs is said to be left by a killed run, and the printed ``pulumi cancel`` works
as printed: a DIY backend needs its URL (``PULUMI_BACKEND_URL``, else the CLI asks for a Pulumi
Cloud login) and a fully qualified ``organization/<project>/<stack>`` (the CLI refuses a bare
name with ``--stack`` outside the project directory).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import socket
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlparse

from automation.errors import LockHolder, StackLockedError

_HOLDER_LINE = re.compile(
    r"^\s*(?P<path>\S+): created by (?P<holder>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)\s*$",
    re.M,
)
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_lock_holders(text: str) -> list[LockHolder]:
    """The lock files named in a DIY "the stack is currently locked by" error."""
    return [
        LockHolder(
            path=match["path"],
            holder=match["holder"],
            pid=int(match["pid"]),
            created_at=_timestamp(match["at"]),
        )
        for match in _HOLDER_LINE.finditer(text)
    ]


def file_backend_locks(backend_url: str, project: str, stack: str) -> list[LockHolder]:
    """Lock files of a ``file://`` backend, read directly (no CLI call, no lock taken)."""
    parsed = urlparse(backend_url)
    if parsed.scheme != "file":
        return []
    lock_dir = Path(unquote(parsed.path)) / ".pulumi" / "locks" / "organization" / project / stack
    holders: list[LockHolder] = []
    for path in sorted(lock_dir.glob("*.json")):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            holders.append(LockHolder(str(path), "unknown (unreadable lock file)", None, None))
            continue
        holders.append(
            LockHolder(
                path=str(path),
                holder=f"{content.get('username', '?')}@{content.get('hostname', '?')}",
                pid=content.get("pid") if isinstance(content.get("pid"), int) else None,
                created_at=_timestamp(str(content.get("timestamp", ""))),
            )
        )
    return holders


def remove_torn_checkpoint_attributes(backend_url: str, project: str, stack: str) -> list[Path]:
    """Remove an empty ``<stack>.json.attrs`` that a CLI killed mid-checkpoint leaves behind.

    The DIY file backend (gocloud's fileblob) writes each checkpoint to a temporary file that it
    renames into place, but writes the ``.attrs`` sidecar (content type, metadata) in place: a
    SIGKILL at that moment leaves it empty, and every later ``pulumi stack select`` fails with
    "failed to load checkpoint: EOF" although the checkpoint itself is whole. fileblob treats a
    missing sidecar as "no attributes", so removing an empty one is lossless. Returns the paths
    removed; non-file backends are never touched.
    """
    parsed = urlparse(backend_url)
    if parsed.scheme != "file":
        return []
    stacks = Path(unquote(parsed.path)) / ".pulumi" / "stacks"
    candidates = [stacks / project / f"{stack}.json.attrs", stacks / f"{stack}.json.attrs"]
    removed = []
    for path in candidates:
        if path.is_file() and path.stat().st_size == 0:
            path.unlink()
            removed.append(path)
    return removed


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90m``, ``1h30m``, ``1d``: the grammar of ``--break-stale-lock-after``."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration such as 2h, 90m or 1h30m")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def age_text(holder: LockHolder, now: datetime) -> str:
    if holder.created_at is None:
        return "age unknown"
    minutes = int((now - holder.created_at).total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m old"


def all_stale(locks: Sequence[LockHolder], older_than: timedelta, now: datetime) -> bool:
    """True only when every lock has a known age above the threshold (unknown is never stale)."""
    return bool(locks) and all(
        lock.created_at is not None and now - lock.created_at > older_than for lock in locks
    )


def locked_error(stack: str, locks: Sequence[LockHolder], now: datetime) -> StackLockedError:
    held = "; ".join(
        f"{lock.holder}" + (f" pid {lock.pid}" if lock.pid else "") + f", {age_text(lock, now)}"
        for lock in locks
    )
    what = f"stack {stack} is locked by another run" + (f" ({held})" if held else "")
    return StackLockedError(
        what,
        f"Wait for that run to finish. If it was killed, clear the lock with `pulumi cancel "
        f"--stack {stack} --yes`, or rerun with --break-stale-lock-after <age> (e.g. 2h)",
        locks,
    )


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host (a process of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cancel_command(stack: str, backend_url: str, project: str, cli: str = "pulumi") -> str:
    """``pulumi cancel`` as it works from any directory, for a DIY backend (``file://``,
    ``azblob://``, ...); for Pulumi Cloud the stack's own name, run from the project."""
    if backend_url.startswith(("https://", "http://")):
        return f"{shlex.quote(cli)} cancel --stack {shlex.quote(stack)} --yes"
    return (
        f"PULUMI_BACKEND_URL={shlex.quote(backend_url)} {shlex.quote(cli)} cancel --stack "
        f"{shlex.quote(f'organization/{project}/{stack}')} --yes"
    )


def with_recovery(
    error: StackLockedError,
    stack: str,
    cancel: str,
    *,
    can_break: bool,
    host: str | None = None,
    alive: Callable[[int], bool] = process_alive,
) -> StackLockedError:
    """The same lock error, saying whether its holder is a dead process of this host, and
    with a ``pulumi cancel`` that works as printed (``cancel``, from ``cancel_command``)."""
    if not error.locks:
        return error
    here = host or socket.gethostname()
    dead = [
        lock
        for lock in error.locks
        if lock.pid is not None and lock.holder.rsplit("@", 1)[-1] == here and not alive(lock.pid)
    ]
    if len(dead) == len(error.locks):
        held = "; ".join(f"{lock.holder} pid {lock.pid}" for lock in dead)
        what = (
            f"stack {stack} is locked by a run that was killed: {held} on this host, which is "
            "no longer running, left its lock behind"
        )
        action = f"Clear it with `{cancel}`" + (
            ", or rerun with --break-stale-lock-after 0s (safe here: no process holds it)"
            if can_break
            else ""
        )
        return StackLockedError(what, action, error.locks)
    action = f"Wait for that run to finish. If it was killed, clear the lock with `{cancel}`" + (
        ", or rerun with --break-stale-lock-after <age> (e.g. 2h)" if can_break else ""
    )
    return StackLockedError(error.what, action, error.locks)


class HostRunLock:
    """An exclusive ``flock`` per (backend, stack) on this host, held for the whole run."""

    def __init__(self, backend_url: str, stack: str, directory: Path | None = None) -> None:
        key = hashlib.sha256(f"{backend_url}\0{stack}".encode()).hexdigest()[:16]
        self.stack = stack
        self.path = (directory or Path(tempfile.gettempdir())) / f"coder-platform-{key}.lock"
        self._fd: int | None = None

    def __enter__(self) -> HostRunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StackLockedError(
                f"another runner process on this host (pid {holder}) is working on stack "
                f"{self.stack}",
                "Wait for it to finish; this lock is released as soon as that process exits",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _timestamp(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
