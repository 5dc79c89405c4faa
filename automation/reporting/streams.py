"""Writing to a reader that may go away: ``python -m automation ... | head`` is not a failure.

Python ignores SIGPIPE, so a write to a closed pipe raises ``BrokenPipeError``; unhandled, it
turns a successful run into exit 1 (or 120 from the interpreter's final flush). The fix is the
one the Python docs give ("Note on SIGPIPE", signal module): stop writing, and point the file
descriptor at ``/dev/null`` so the final flush succeeds. The run's exit code stays its own.
"""

from __future__ import annotations

import io
import os
from typing import IO


def write_safely(stream: IO[str], text: str) -> bool:
    """Write and flush ``text``; ``False`` (and the stream silenced) once the reader is gone."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        silence(stream)
        return False
    return True


def silence(stream: IO[str]) -> None:
    """Send whatever is still buffered or written later to ``/dev/null``."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
