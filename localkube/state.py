"""Whether the loopback cluster runs: its ``state.json``, written by ``serve`` once it is up.

Kept apart from ``localkube.cluster`` (which imports the PKI and cryptography) so a liveness
check (``localplatform up`` with everything running, ``localkube status``) costs a file read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def running_state(directory: Path) -> dict[str, str] | None:
    """The running cluster's state (pid, server, kubeconfig), or None; a stale file is removed."""
    path = directory / "state.json"
    if not path.exists():
        return None
    state: dict[str, str] = json.loads(path.read_text())
    try:
        os.kill(int(state["pid"]), 0)
    except (ProcessLookupError, ValueError):
        path.unlink(missing_ok=True)
        return None
    return state
