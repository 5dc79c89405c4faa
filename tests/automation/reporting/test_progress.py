"""The live view for humans and JSON lines for machines: the toolchain's known warnings."""

from __future__ import annotations

import io
import json

from rich.console import Console

from automation.outcome import Outcome
from automation.reporting.collector import EventCollector
from automation.reporting.events import Diagnostic
from automation.reporting.progress import JsonLinesProgress, RichProgress
from automation.reporting.report import ReportBuilder
from coder_platform.redaction import Redactor

TOOLCHAIN_WARNINGS = (
    "using pulumi-resource-kubernetes from $PATH at /root/.cache/coder-platform/toolchain/bin/"
    "pulumi-resource-kubernetes",
    "resource plugin kubernetes is expected to have version >=4.34.2, but has "
    "4.25.0-alpha.1768448096+f47bc2d6f199; the wrong version may be on your path, or this may be "
    "a bug in the plugin",
)


def two_phases(sink: RichProgress | JsonLinesProgress) -> None:
    for name in ("decide", "act"):
        sink.phase(name, "running")
        for message in TOOLCHAIN_WARNINGS:
            sink.event(Diagnostic("warning", message))
        sink.phase(name, "ok", "1 change")
    sink.event(Diagnostic("warning", "Helm release coder-release: chart deprecated"))
    sink.close()


def test_known_toolchain_warnings_show_once_in_one_compact_line_when_every_phase_repeats_them() -> (
    None
):
    out = io.StringIO()
    two_phases(RichProgress(Console(file=out, width=200), Redactor()))

    text = out.getvalue()
    assert text.count("toolchain (known, harmless)") == 1
    line = next(line for line in text.splitlines() if "toolchain" in line)
    assert "pulumi-resource-kubernetes from PATH" in line
    assert "kubernetes plugin 4.25.0-alpha.1768448096+f47bc2d6f199 (the SDK pins >=4.34.2)" in line
    assert "$PATH at" not in text and "the wrong version may be" not in text
    assert "chart deprecated" in text  # any other warning is still shown as it comes


def test_json_lines_keep_every_toolchain_warning_when_machines_read_them() -> None:
    out = io.StringIO()
    two_phases(JsonLinesProgress(out, Redactor()))

    messages = [json.loads(line).get("message") for line in out.getvalue().splitlines()]
    assert messages.count(TOOLCHAIN_WARNINGS[0]) == 2


def test_report_keeps_the_toolchain_warnings_once_each_when_operations_repeat_them() -> None:
    builder = ReportBuilder("reconcile", "local")
    for _ in range(2):
        collector = EventCollector("update")
        for message in TOOLCHAIN_WARNINGS:
            collector(Diagnostic("warning", message))
        builder.record_operation(collector)

    report = builder.finish(Outcome.CONVERGED)
    assert [d.message for d in report.diagnostics] == list(TOOLCHAIN_WARNINGS)
