"""The Coder writes a run's seeded resources make, counted where they happen (C2, C4 evidence).

The dynamic providers run in the engine's provider host, a process the runner does not own. Each
provider operation (create, update, delete, and read or diff should they ever write) that sends
Coder a write appends one line here: the resource kind, the operation and how many write
requests it sent (``CoderClient.write_count``: every non-GET attempted, retries included). The
runner names the file per run (``CODER_WRITE_LOG_ENV``), hands it to the provider host through
the engine's environment, and sums it into the report and the metrics, so "a converged run wrote
nothing to Coder" and "the first seed created these" are both read from one place. Counts and
names only: no value a request carried is ever written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from coder_platform.contracts import CODER_WRITE_LOG_ENV


@dataclass(frozen=True, order=True)
class CoderWrites:
    """What one kind of resource wrote to Coder in one operation, over a run."""

    kind: str  # the resource type's name: CoderUser, CoderTemplate, CoderApiToken, ...
    op: str  # the provider operation: create, update, delete (read, diff: should stay absent)
    resources: int  # how many resources' operations wrote
    requests: int  # the write requests they sent


def record(kind: str, op: str, requests: int, environ: dict[str, str] | None = None) -> None:
    """Append one operation's writes to the run's log, when the runner named one."""
    path = (os.environ if environ is None else environ).get(CODER_WRITE_LOG_ENV)
    if not path or requests <= 0:
        return
    line = json.dumps({"kind": kind, "op": op, "requests": requests}) + "\n"
    # One write(2) on an O_APPEND file: lines from concurrent provider calls never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def summarize(path: Path) -> list[CoderWrites]:
    """The log's lines summed per kind and operation (empty when nothing wrote); a line that does
    not parse is skipped (a provider host killed mid-line must not fail the run's record)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    resources: Counter[tuple[str, str]] = Counter()
    requests: Counter[tuple[str, str]] = Counter()
    for line in lines:
        try:
            entry = json.loads(line)
            key, count = (str(entry["kind"]), str(entry["op"])), int(entry["requests"])
        except (ValueError, KeyError, TypeError):
            continue
        resources[key] += 1
        requests[key] += count
    return sorted(CoderWrites(k, op, resources[(k, op)], requests[(k, op)]) for k, op in requests)
