"""Run one Pulumi CLI command so that it, and every plugin it starts, ends with the runner.

Started by the runner (``cli_process.py``) as ``python -I -S supervisor.py GRACE -- pulumi ...``
in a session of its own, with a pipe on stdin whose only writer is the runner. Standard library
only: it must start in milliseconds and import nothing from the project.

Why a process of its own: the runner can be killed with SIGKILL, which no handler sees, and the
CLI starts each plugin (language host, policy analyzer, providers, the dynamic provider host) in
a process group of its own (observed with CLI 3.259), so neither a death signal on the CLI nor a
kill of one process group reaches them. This supervisor:

- makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``, Linux 3.4+), so a plugin orphaned
  by a CLI that died is re-parented here rather than to init;
- waits on the CLI (a pidfd) and on stdin at once: end-of-file while the CLI runs means the
  runner died (or asked to stop), and the CLI gets SIGINT, on which it cancels gracefully
  (finishes in-flight steps, writes the checkpoint, releases the stack lock), then SIGKILL
  after ``GRACE`` seconds;
- once the CLI is gone, ends whatever is left below it (SIGTERM to each orphan's process group,
  SIGKILL after a short wait), reaps it, and exits with the CLI's exit code.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
ORPHAN_GRACE_SECONDS = 5.0


def main(argv: list[str]) -> int:
    grace, separator, command = float(argv[1]), argv[2], argv[3:]
    if separator != "--" or not command:
        print("usage: supervisor.py GRACE -- COMMAND...", file=sys.stderr)
        return 2
    _become_subreaper()
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    for forwarded in (signal.SIGINT, signal.SIGTERM):
        signal.signal(forwarded, lambda signum, _frame: child.send_signal(signum))
    if _runner_died_first(child.pid):
        _cancel(child, grace)
    code = child.wait()
    _end_orphans()
    return code if code >= 0 else 128 - code


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _runner_died_first(pid: int) -> bool:
    """Block until the CLI exits (``False``) or the runner's end of stdin closes (``True``)."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([0, pidfd], [], [])
            if pidfd in ready:
                return False
            if not os.read(0, 64):
                return True
    finally:
        os.close(pidfd)


def _cancel(child: subprocess.Popen[bytes], grace: float) -> None:
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        child.kill()


def _children() -> list[int]:
    mine = os.getpid()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == mine:
            found.append(int(entry))
    return found


def _signal_tree(pid: int, signum: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _end_orphans() -> None:
    """SIGTERM, then SIGKILL, whatever the CLI left behind (re-parented to this subreaper)."""
    _reap()
    deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
    signum = signal.SIGTERM
    while orphans := _children():
        for pid in orphans:
            _signal_tree(pid, signum)
        time.sleep(0.05)
        _reap()
        if time.monotonic() > deadline:
            signum = signal.SIGKILL


if __name__ == "__main__":
    sys.exit(main(sys.argv))
