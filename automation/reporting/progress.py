"""Progress while a run works: a live, compact view for humans, JSON lines for machines.

On a terminal, a ``rich`` live view keyed by URN shows each changing resource as it runs and
finishes, plus the current phase (the pattern of reference/pulumi.md §1). Off a terminal (cron,
CI, a CronJob's log) every phase change, changing step, warning and policy finding is one JSON
object per line on stderr. Unchanged resources are not shown: "already correct" stays silent.
The toolchain's known warnings, which the engine repeats on every operation, are one compact
line per run in the live view (``known_warnings``); JSON lines keep each one. Every text passes
through the redactor (C2).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from automation.reporting.collector import UNCHANGED_OPS
from automation.reporting.events import Diagnostic, PolicyFinding, RunEvent, StepEvent, Summary
from automation.reporting.known_warnings import compact
from automation.reporting.streams import write_safely
from coder_platform.redaction import Redactor

MAX_ROWS = 12
SHOWN_SEVERITIES = frozenset({"warning", "error"})


class ProgressSink(Protocol):
    def phase(self, name: str, status: str, detail: str = "") -> None: ...

    def event(self, event: RunEvent) -> None: ...

    def note(self, text: str) -> None: ...

    def close(self) -> None: ...


def interesting(event: StepEvent) -> bool:
    return event.op not in UNCHANGED_OPS or bool(event.properties) or event.gone


class JsonLinesProgress:
    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream = stream
        self._redact = redactor
        self._lock = threading.Lock()
        self._open = True

    def _emit(self, kind: str, **fields: Any) -> None:
        record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "kind": kind}
        record.update(fields)
        line = json.dumps(self._redact.data(record))
        with self._lock:
            if self._open:
                self._open = write_safely(self._stream, line + "\n")

    def phase(self, name: str, status: str, detail: str = "") -> None:
        self._emit("phase", phase=name, status=status, detail=detail)

    def event(self, event: RunEvent) -> None:
        if isinstance(event, StepEvent) and interesting(event):
            self._emit(
                "step",
                stage=event.stage,
                op=event.op,
                urn=event.urn,
                type=event.type,
                properties=list(event.properties),
            )
        elif isinstance(event, Diagnostic) and event.severity in SHOWN_SEVERITIES:
            self._emit(
                "diagnostic", severity=event.severity, urn=event.urn, message=event.message[:2000]
            )
        elif isinstance(event, PolicyFinding):
            self._emit(
                "policy",
                enforcement=event.enforcement,
                pack=event.pack,
                policy=event.policy,
                urn=event.urn,
                message=event.message,
            )
        elif isinstance(event, Summary):
            self._emit("summary", changes=dict(event.changes))

    def note(self, text: str) -> None:
        self._emit("note", message=text)

    def close(self) -> None:
        return None


class RichProgress:
    """The live view: current phase, the changing resources (newest last), and counters."""

    def __init__(self, console: Console, redactor: Redactor) -> None:
        self._console = console
        self._redact = redactor
        self._lock = threading.Lock()
        self._phase = "starting"
        self._rows: dict[str, tuple[str, str, str, str]] = {}
        self._done = 0
        self._toolchain: list[str] = []
        self._toolchain_shown = 0
        self._live = Live(self._render(), console=console, refresh_per_second=8, transient=True)
        self._live.start()

    def _render(self) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_row(Text(f"{self._phase}", style="bold"), Text(f"{self._done} done", "dim"))
        for name, op, state, props in list(self._rows.values())[-MAX_ROWS:]:
            table.add_row(f"  {state} {op}", f"{name} {props}")
        return table

    def _refresh(self) -> None:
        self._live.update(self._render())

    def phase(self, name: str, status: str, detail: str = "") -> None:
        with self._lock:
            self._phase = f"{name}: {status}" + (f" ({self._redact(detail)})" if detail else "")
            if status != "running":
                self._console.print(Text(self._phase, style="dim"))
                self._show_toolchain()
            self._refresh()

    def _show_toolchain(self) -> None:
        """Print the known toolchain warnings seen so far, once: a later repeat prints nothing,
        a new kind of warning prints one line with it."""
        if len(self._toolchain) > self._toolchain_shown:
            self._toolchain_shown = len(self._toolchain)
            phrases = "; ".join(self._toolchain)
            line = self._redact(f"toolchain (known, harmless): {phrases}")
            self._console.print(Text(line, style="dim"))

    def event(self, event: RunEvent) -> None:
        with self._lock:
            if isinstance(event, StepEvent) and interesting(event):
                name = event.urn.rsplit("::", 1)[-1]
                state = {"started": "…", "done": "✓", "failed": "✗"}[event.stage]
                self._done += event.stage == "done"
                self._rows[event.urn] = (name, event.op, state, ", ".join(event.properties))
            elif isinstance(event, Diagnostic) and event.severity in SHOWN_SEVERITIES:
                phrase = compact(event.message) if event.severity == "warning" else None
                if phrase is not None:
                    if phrase not in self._toolchain:
                        self._toolchain.append(phrase)
                else:
                    style = "red" if event.severity == "error" else "yellow"
                    self._console.print(Text(self._redact(event.message)[:2000], style=style))
            elif isinstance(event, PolicyFinding):
                self._console.print(
                    Text(
                        f"policy {event.enforcement} {event.policy}: {self._redact(event.message)}",
                        style="yellow",
                    )
                )
            self._refresh()

    def note(self, text: str) -> None:
        with self._lock:
            self._console.print(Text(self._redact(text), style="cyan"))

    def close(self) -> None:
        with self._lock:
            self._show_toolchain()
        self._live.stop()
