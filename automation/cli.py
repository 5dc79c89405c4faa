"""``python -m automation``: preview, up, drift, reconcile, destroy and report for one stack.

Thin on purpose: options become ``RunSettings`` and a command body; ``execute`` does the rest.
``engine_factory`` and ``dependency_factory`` are module attributes so tests can swap in fakes
(the same pattern as ``coder_platform.vault_inputs.reader_factory``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from automation import commands
from automation.engine.locks import parse_duration
from automation.engine.policy_pack import resolve_policy
from automation.engine.protocol import PolicySettings
from automation.engine.pulumi_engine import open_pulumi_engine
from automation.execute import EngineFactory, OutputMode, RunSettings, Streams, execute
from automation.observe.dependencies import DependencyFactory, real_dependencies
from automation.outcome import Outcome, exit_code_table
from automation.reconcile import ReconcileOptions, reconcile
from automation.reporting.render import console_for, render
from automation.reporting.report import read_latest
from automation.reporting.streams import write_safely
from automation.session import Session
from automation.termination import stop_on_sigterm
from coder_platform.contracts import (
    METRICS_TEXTFILE_ENV,
    PUSHGATEWAY_ENV,
    REPORT_DIR_ENV,
    STACK_ENV,
    STACK_NAME,
    ExitCode,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

engine_factory: EngineFactory = open_pulumi_engine
dependency_factory: DependencyFactory = real_dependencies

app = typer.Typer(
    name="automation",
    help=(
        "Run the coder-platform stack through the Pulumi Automation API: preview, apply, "
        "check drift, self-heal (reconcile), destroy (guarded) and show the last report.\n\n"
        "With no PULUMI_BACKEND_URL, state lives in .pulumi-state/ with a local-only "
        "passphrase (local stacks only); managed stacks need PULUMI_BACKEND_URL and "
        "CODER_PLATFORM_SECRETS_PROVIDER. Every run writes a JSON report to "
        ".reports/<stack>/ (latest.json) and prints it.\n\n"
        "\b\nExamples:\n"
        "  python -m automation preview --stack dev\n"
        "  python -m automation reconcile --stack dev --break-stale-lock-after 2h\n"
        "  python -m automation report --stack dev"
    ),
    epilog="\b\nExit codes:\n" + exit_code_table(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _stack(value: str) -> str:
    if not STACK_NAME.fullmatch(value):
        raise typer.BadParameter("letters, digits, '.', '_' and '-' only (e.g. dev)")
    return value


def _duration(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


Stack = Annotated[
    str,
    typer.Option(
        "--stack",
        "-s",
        metavar="NAME",
        help="The stack to operate on, e.g. dev (stacks/Pulumi.<NAME>.yaml).",
        envvar=STACK_ENV,
        callback=_stack,
    ),
]
WorkDir = Annotated[
    Path,
    typer.Option(
        metavar="DIR",
        help="The Pulumi project (Pulumi.yaml) [default: this repository].",
        file_okay=False,
        exists=True,
        show_default=False,
    ),
]
ReportDir = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="Where run reports go: <DIR>/<stack>/<run-id>.json and latest.json "
        "[default: <work-dir>/.reports].",
        envvar=REPORT_DIR_ENV,
    ),
]
Output = Annotated[
    str,
    typer.Option(
        metavar="[auto|human|json]",
        help="auto: a live view on a terminal, JSON lines (and the report as JSON) otherwise.",
    ),
]
PolicyPack = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="The CrossGuard pack [default: <work-dir>/policy]."),
]
PolicyConfig = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="The pack's config [default: policy/config/<environment>.json when it exists].",
    ),
]
NoPolicy = Annotated[
    bool, typer.Option("--no-policy", help="Run without the policy pack (recorded in the report).")
]
MetricsFile = Annotated[
    Path | None,
    typer.Option(
        metavar="PATH",
        help="Write Prometheus metrics to this .prom file, or into this directory "
        "(node-exporter textfile collector).",
        envvar=METRICS_TEXTFILE_ENV,
    ),
]
Pushgateway = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="Push Prometheus metrics to this Pushgateway.",
        envvar=PUSHGATEWAY_ENV,
    ),
]


def _chosen_policy(
    settings: RunSettings,
    session: Session,
    pack: Path | None,
    config: Path | None,
    no_policy: bool,
) -> PolicySettings | None:
    """The pack a preview or up runs with, unless --no-policy (which the report records)."""
    if no_policy:
        return None
    return resolve_policy(settings.work_dir, session.environment, pack, config)


def _output_mode(output: str) -> OutputMode:
    if output not in ("auto", "human", "json"):
        raise typer.BadParameter("use auto, human or json", param_hint="--output")
    return "json" if output == "json" else "human" if output == "human" else "auto"


def _settings(
    command: str,
    stack: str,
    work_dir: Path,
    report_dir: Path | None,
    output: str,
    *,
    metrics_textfile: Path | None = None,
    pushgateway: str | None = None,
) -> RunSettings:
    mode = _output_mode(output)
    return RunSettings(
        command=command,
        stack=stack,
        work_dir=work_dir.resolve(),
        report_dir=(report_dir or work_dir / ".reports").resolve(),
        output=mode,
        metrics_textfile=metrics_textfile,
        pushgateway=pushgateway,
    )


def _finish(settings: RunSettings, body: Callable[[Session], Outcome]) -> None:
    report = execute(settings, body, engine_factory, os.environ, Streams(sys.stdout, sys.stderr))
    raise typer.Exit(report.exit_code)


@app.command(short_help="Show what up would change, checked by the policy pack.")
def preview(
    *,
    stack: Stack,
    policy_pack: PolicyPack = None,
    policy_config: PolicyConfig = None,
    no_policy: NoPolicy = False,
    work_dir: WorkDir = REPO_ROOT,
    report_dir: ReportDir = None,
    output: Output = "auto",
) -> None:
    """Show what `up` would change, checked by the policy pack.

    Refreshes first and runs the program for fresh provider credentials. Exits 0 whether or not
    changes are pending, 12 on a mandatory policy violation; the report lists planned changes.
    """
    settings = _settings("preview", stack, work_dir, report_dir, output)

    def body(session: Session) -> Outcome:
        policy = _chosen_policy(settings, session, policy_pack, policy_config, no_policy)
        return commands.preview(session, policy)

    _finish(settings, body)


@app.command(short_help="Apply the program to the stack, with the policy pack.")
def up(
    *,
    stack: Stack,
    policy_pack: PolicyPack = None,
    policy_config: PolicyConfig = None,
    no_policy: NoPolicy = False,
    work_dir: WorkDir = REPO_ROOT,
    report_dir: ReportDir = None,
    output: Output = "auto",
) -> None:
    """Apply the program to the stack, with the policy pack.

    Refreshes first and runs the program for fresh provider credentials. On the embedded local
    backend a missing stack is created; on a managed backend it must already exist.
    """
    settings = _settings("up", stack, work_dir, report_dir, output)

    def body(session: Session) -> Outcome:
        policy = _chosen_policy(settings, session, policy_pack, policy_config, no_policy)
        return commands.up(session, policy)

    _finish(settings, body)


@app.command(short_help="Check for drift (a refresh preview); change nothing.")
def drift(
    *,
    stack: Stack,
    work_dir: WorkDir = REPO_ROOT,
    report_dir: ReportDir = None,
    output: Output = "auto",
    metrics_textfile: MetricsFile = None,
    pushgateway: Pushgateway = None,
) -> None:
    """Check for drift with a refresh preview; change nothing.

    The report lists each drifted resource and the names of its drifted properties (never
    values). Exits 0 when nothing drifted, 11 when something did.
    """
    settings = _settings(
        "drift",
        stack,
        work_dir,
        report_dir,
        output,
        metrics_textfile=metrics_textfile,
        pushgateway=pushgateway,
    )
    _finish(settings, commands.drift)


@app.command(name="reconcile", short_help="Self-heal: observe, decide, act, verify, record.")
def reconcile_command(
    *,
    stack: Stack,
    policy_pack: PolicyPack = None,
    policy_config: PolicyConfig = None,
    dependency_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            min=1,
            help="How long each dependency (Kubernetes, Vault, Coder) may take to answer.",
        ),
    ] = 120.0,
    break_stale_lock_after: Annotated[
        str | None,
        typer.Option(
            metavar="AGE",
            help="Clear the stack's lock with `pulumi cancel` when every lock is older than AGE "
            "(e.g. 2h, 1h30m); what was removed is logged. Off by default.",
        ),
    ] = None,
    work_dir: WorkDir = REPO_ROOT,
    report_dir: ReportDir = None,
    output: Output = "auto",
    metrics_textfile: MetricsFile = None,
    pushgateway: Pushgateway = None,
) -> None:
    """Self-heal the stack: observe, decide, act, verify, record.

    Validates config, waits (bounded) for Kubernetes, Vault and Coder, heals a Coder reset by
    dropping the dead seeded subtree from state, applies only when a preview shows changes,
    then proves convergence. A run right after a successful one is a fast no-op (exit 0);
    a run that changed things exits 10.
    """
    settings = _settings(
        "reconcile",
        stack,
        work_dir,
        report_dir,
        output,
        metrics_textfile=metrics_textfile,
        pushgateway=pushgateway,
    )
    stale_after = _duration(break_stale_lock_after)

    def body(session: Session) -> Outcome:
        options = ReconcileOptions(
            policy=resolve_policy(
                settings.work_dir, session.environment, policy_pack, policy_config
            ),
            dependency_deadline_seconds=dependency_timeout,
            break_stale_lock_after=stale_after,
        )
        return reconcile(session, options, dependency_factory)

    _finish(settings, body)


@app.command(short_help="Delete an unprotected stack's resources (typed confirmation).")
def destroy(
    *,
    stack: Stack,
    confirm: Annotated[
        str | None, typer.Option(metavar="NAME", help="The stack's name, typed again to confirm.")
    ] = None,
    work_dir: WorkDir = REPO_ROOT,
    report_dir: ReportDir = None,
    output: Output = "auto",
) -> None:
    """Delete the resources of an unprotected stack, after a typed confirmation.

    Refused (exit 18) unless coder-platform:protected is false in the stack config and the
    stack's name is typed back (--confirm, or the prompt on a terminal). Resources marked
    protect (the backup store) are skipped, never deleted.
    """
    settings = _settings("destroy", stack, work_dir, report_dir, output)
    prompt = (lambda text: str(typer.prompt(text))) if sys.stdin.isatty() else None

    def body(session: Session) -> Outcome:
        return commands.destroy(session, confirm, prompt)

    _finish(settings, body)


@app.command(short_help="Print the last run's report.")
def report(
    *,
    stack: Stack,
    output: Output = "human",
    json_output: Annotated[
        bool, typer.Option("--json", hidden=True, help="The same as --output json.")
    ] = False,
    work_dir: WorkDir = REPO_ROOT,
    report_dir: ReportDir = None,
) -> None:
    """Print the last run's report (any command) for humans (the default), or as JSON."""
    mode = _output_mode("json" if json_output else output)
    directory = (report_dir or work_dir / ".reports").resolve()
    latest = read_latest(directory, stack)
    if latest is None:
        Console(file=sys.stderr).print(
            f"error: no report for stack {stack} in {directory}. Run a command first "
            f"(e.g. python -m automation reconcile --stack {stack})"
        )
        raise typer.Exit(int(ExitCode.USAGE))
    if mode == "json" or (mode == "auto" and not sys.stdout.isatty()):
        write_safely(sys.stdout, latest.to_json(indent=2) + "\n")
        return
    render(latest, console_for(sys.stdout))


def main() -> None:
    stop_on_sigterm()
    app()


__all__ = ["app", "main"]
