"""``python -m localplatform up|status|down|start|stop|restart|env``: the local platform.

``up`` starts what does not answer (kube, postgres, openbao, coder, in that order; a healthy
part is left alone, so ``up`` on a running platform answers at once), seeds the stack's bootstrap
inputs into OpenBao when missing, and prints ``export`` lines for the runner (KUBECONFIG,
VAULT_ADDR, a VAULT_TOKEN read from its 0600 file, CODER_URL). Progress goes to stderr, so
``eval "$(python -m localplatform up)"`` works.

Every option also reads an environment variable (``LOCALPLATFORM_DIR``, ``_KUBE_DIR``,
``_CODER_PORT``, ``_OPENBAO_PORT``, ``_STACK``), so ``scripts/reconcile`` can drive an instance
other than the default one (the bench's).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from localplatform.binaries import ROOT
from localplatform.daemon import PartError
from localplatform.node_state import KEY_ENV as STATE_KEY_ENV
from localplatform.platform import (
    CODER_PORT,
    DEFAULT_DIR,
    KUBE_DIR,
    NODE_PARTS,
    OPENBAO_PORT,
    Endpoints,
    LocalPlatform,
)

# The Coder client, the stack's config schema and the drill are imported by the commands that
# use them: `up` on a running platform must answer in well under a second, imports included.
app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
StateDir = Annotated[
    Path,
    typer.Option("--dir", envvar="LOCALPLATFORM_DIR", help="Where the platform keeps its files."),
]
KubeDir = Annotated[
    Path,
    typer.Option(
        "--kube-dir", envvar="LOCALPLATFORM_KUBE_DIR", help="Where the kube part keeps its files."
    ),
]
CoderPort = Annotated[
    int,
    typer.Option("--coder-port", envvar="LOCALPLATFORM_CODER_PORT", help="Coder's loopback port."),
]
BaoPort = Annotated[
    int,
    typer.Option(
        "--openbao-port", envvar="LOCALPLATFORM_OPENBAO_PORT", help="OpenBao's loopback port."
    ),
]
Stack = Annotated[
    str,
    typer.Option(
        "--stack",
        envvar="LOCALPLATFORM_STACK",
        help="The stack whose Vault inputs are seeded when missing.",
    ),
]
Part = Annotated[str, typer.Argument(help=f"One of: {', '.join(NODE_PARTS)}.")]
WithNode = Annotated[
    bool,
    typer.Option(
        "--node",
        help="Also run a node (containerd, kubelet, kube-proxy, kube-scheduler, CoreDNS, "
        "Azurite; CNPG and its Barman Cloud plugin; root, scripts/install-node), kept until "
        "`down`.",
    ),
]


def _platform(directory: Path, kube_dir: Path, coder_port: int, bao_port: int) -> LocalPlatform:
    return LocalPlatform(directory, kube_dir, coder_port, bao_port)


def _exports(endpoints: Endpoints) -> str:
    token_file = shlex.quote(endpoints.vault_token_file)
    lines = [
        f"export KUBECONFIG={shlex.quote(endpoints.kubeconfig)}",
        f"export VAULT_ADDR={shlex.quote(endpoints.vault_address)}",
        f'export VAULT_TOKEN="$(cat {token_file})"',
        f"export CODER_URL={shlex.quote(endpoints.coder_url)}",
    ]
    # A node stack's state in Azurite (localplatform.node_state); the key from its 0600 file.
    lines += [
        f"export {key}={shlex.quote(value)}" for key, value in endpoints.state_backend.items()
    ]
    if endpoints.state_key_file is not None:
        key_file = shlex.quote(endpoints.state_key_file)
        lines.append(f'export {STATE_KEY_ENV}="$(cat {key_file})"')
    return "\n".join(lines)


def _fail(error: PartError) -> typer.Exit:
    typer.echo(f"localplatform: {error}", err=True)
    return typer.Exit(1)


def _check_part(part: str) -> None:
    if part not in NODE_PARTS:
        typer.echo(f"unknown part {part!r}: one of {', '.join(NODE_PARTS)}", err=True)
        raise typer.Exit(2)


@app.command()
def up(
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
    stack: Stack = "local",
    *,
    node: WithNode = False,
) -> None:
    """Start every part that is not running; print the runner's environment."""
    platform = LocalPlatform(directory, kube_dir, coder_port, openbao_port, node=node)
    try:
        endpoints = platform.up(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    except PartError as error:
        raise _fail(error) from None
    typer.echo(f"local platform up: Coder at {endpoints.coder_url}", err=True)
    typer.echo(_exports(endpoints))


@app.command()
def env(
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
) -> None:
    """Print the runner's environment without starting anything."""
    typer.echo(_exports(_platform(directory, kube_dir, coder_port, openbao_port).endpoints()))


@app.command()
def status(
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
) -> None:
    """Each part: running or stopped, and where. Exit 1 unless all run."""
    platform = _platform(directory, kube_dir, coder_port, openbao_port)
    endpoints = platform.endpoints()
    where = {
        "kube": f"KUBECONFIG={endpoints.kubeconfig}",
        "node": "containerd, kubelet, kube-proxy, kube-scheduler, CoreDNS, Azurite "
        f"({platform.directory / 'node'})",
        "postgres": f"127.0.0.1:{endpoints.postgres_port}",
        "openbao": f"{endpoints.vault_address} (token file {endpoints.vault_token_file})",
        "coder": endpoints.coder_url,
    }
    all_running = True
    for part in platform.parts:
        running = platform.running(part)
        all_running &= running
        typer.echo(f"{part:<9} {'running' if running else 'stopped':<8} {where[part]}")
    if not all_running:
        raise typer.Exit(1)


@app.command()
def down(
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
) -> None:
    """Stop every part (data stays: the next ``up`` resumes it)."""
    stopped = _platform(directory, kube_dir, coder_port, openbao_port).down()
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}", err=True)


@app.command()
def stop(
    part: Part,
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
) -> None:
    """Stop one part (to see the runner name an unreachable dependency)."""
    _check_part(part)
    stopped = _platform(directory, kube_dir, coder_port, openbao_port).stop(part)
    typer.echo(f"{part}: {'stopped' if stopped else 'was not running'}", err=True)


@app.command()
def start(
    part: Part,
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
) -> None:
    """Start one part (its dependencies must be running)."""
    _check_part(part)
    try:
        _platform(directory, kube_dir, coder_port, openbao_port).start(part)
    except PartError as error:
        raise _fail(error) from None
    typer.echo(f"{part}: running", err=True)


@app.command()
def restart(
    part: Part,
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
) -> None:
    """Stop and start one part."""
    _check_part(part)
    platform = _platform(directory, kube_dir, coder_port, openbao_port)
    platform.stop(part)
    try:
        platform.start(part)
    except PartError as error:
        raise _fail(error) from None
    typer.echo(f"{part}: restarted", err=True)


@app.command()
def summary(
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
    stack: Stack = "local",
) -> None:
    """Where Coder is, what is seeded in it, and how to read the automation credentials."""
    import httpx

    from coder_platform.coder_api import CoderApiError
    from localplatform.summary import render

    platform = _platform(directory, kube_dir, coder_port, openbao_port)
    try:
        text = render(platform, ROOT / "stacks" / f"Pulumi.{stack}.yaml", platform.binaries.bao)
    except (PartError, CoderApiError, httpx.HTTPError) as error:
        typer.echo(f"localplatform: no summary ({error})", err=True)
        raise typer.Exit(1) from None
    typer.echo(text)


@app.command("reset-drill")
def reset_drill(
    directory: StateDir = DEFAULT_DIR,
    kube_dir: KubeDir = KUBE_DIR,
    coder_port: CoderPort = CODER_PORT,
    openbao_port: BaoPort = OPENBAO_PORT,
    stack: Stack = "local",
) -> None:
    """Wipe Coder's database, run one reconcile, check everything is back, time it."""
    from localplatform.reset_drill import DrillRefusedError, run_reset_drill
    from localplatform.runner import runner_reconcile

    platform = _platform(directory, kube_dir, coder_port, openbao_port)
    try:
        result = run_reset_drill(
            platform, stack, lambda: runner_reconcile(stack), lambda m: typer.echo(m, err=True)
        )
    except DrillRefusedError as error:
        typer.echo(f"reset-drill refused: {error}", err=True)
        raise typer.Exit(2) from None
    except PartError as error:
        raise _fail(error) from None
    for name, ok, detail in result.checks:
        typer.echo(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    typer.echo(f"re-created by one reconcile: {', '.join(result.recreated) or 'nothing'}")
    verdict = "healed" if result.ok else "NOT healed"
    typer.echo(f"wipe -> {verdict} in {result.seconds:.1f}s")
    if not result.ok:
        raise typer.Exit(1)


@app.command("incident-drill")
def incident_drill(
    stack: Stack = "node",
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave the drill's platform running afterwards.")
    ] = False,
    record: Annotated[
        Path | None, typer.Option("--record", help="Also write the checks and figures as JSON.")
    ] = None,
) -> None:
    """Delete the database's namespace, recover it as the runbook says, print RTO and RPO."""
    import json
    import time

    from localplatform.incident_drill import IncidentDrillRefusedError, run_incident_drill
    from localplatform.polling import WaitTimeoutError

    started = time.monotonic()

    def say(message: str) -> None:
        typer.echo(f"[{time.monotonic() - started:6.1f}s] {message}", err=True)

    try:
        result = run_incident_drill(stack, say, keep)
    except IncidentDrillRefusedError as error:
        typer.echo(f"incident-drill refused: {error}", err=True)
        raise typer.Exit(2) from None
    except (PartError, WaitTimeoutError) as error:
        typer.echo(f"incident-drill failed: {error}", err=True)
        raise typer.Exit(1) from None
    for name, ok, detail in result.checks:
        typer.echo(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    typer.echo(f"incident drill: {json.dumps(result.figures)}")
    if record is not None:
        checks = [{"check": n, "ok": ok, "detail": d} for n, ok, d in result.checks]
        document = {"ok": result.ok, "figures": result.figures, "checks": checks}
        record.write_text(json.dumps(document, indent=2) + "\n")
    if not result.ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
