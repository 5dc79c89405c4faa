"""SIGTERM stops a run the way ^C does: the engine cancels, the stack lock is released.

In a pod the runner is PID 1, and the kernel drops every signal PID 1 has no handler for
(signal(7), "init" is protected): without this module the kubelet's SIGTERM (Job deadline,
node drain, eviction) did nothing, SIGKILL followed after the grace period, took the whole PID
namespace with it (supervisor and CLI included) and left the stack lock behind.

With it, SIGTERM raises ``Terminated`` (a ``KeyboardInterrupt``, so every path that already
handles ^C handles it): an engine operation in flight closes its supervisor's pipe and waits for
the CLI's graceful cancel (``automation/engine/cli_process.py``), the host lock is released on
the way out, and ``execute`` still writes the report. The pod's terminationGracePeriodSeconds
covers that wait (``coder_platform/run_limits.py``). Later SIGTERMs are ignored: a second one must
not cut short the cancel the first one started.
"""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The run was asked to stop (SIGTERM)."""


def _terminate(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(signal.Signals(signum).name)


def stop_on_sigterm() -> None:
    """Install the handler (main thread only, as every Python signal handler)."""
    signal.signal(signal.SIGTERM, _terminate)
