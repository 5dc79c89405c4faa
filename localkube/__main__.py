"""``python -m localkube up|down|status``: the loopback cluster the local stack deploys to."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from localkube.cluster import ROOT, ClusterStartError, local_cluster, pinned_crd_versions
from localkube.state import running_state as _state

DEFAULT_DIR = ROOT / ".localkube"
app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
StateDir = Annotated[Path, typer.Option("--dir", help="Where the cluster keeps its files.")]
NodeIp = Annotated[
    str | None,
    typer.Option(
        "--node-ip",
        help="Serve on this host address (not loopback) so a node's pods reach the API server "
        "(localplatform's node part); without it, loopback only.",
    ),
]


def _bin_dir() -> Path:
    found = shutil.which("kube-apiserver")
    if found is None:
        typer.echo(
            "kube-apiserver is not on PATH: run scripts/install-toolchain, then "
            'eval "$(scripts/install-toolchain --print-env --no-python-host)"',
            err=True,
        )
        raise typer.Exit(2)
    return Path(found).parent


@app.command()
def up(directory: StateDir = DEFAULT_DIR, timeout: float = 120.0, node_ip: NodeIp = None) -> None:
    """Start the cluster in the background (or reuse a running one); print KUBECONFIG."""
    state = _state(directory)
    if state is not None and state.get("node_ip") != node_ip:
        typer.echo(
            f"the local cluster runs with node address {state.get('node_ip')}, not {node_ip}: "
            "stop it first (python -m localkube down)",
            err=True,
        )
        raise typer.Exit(1)
    if state is None:
        _bin_dir()
        directory.mkdir(parents=True, exist_ok=True)
        log = (directory / "localkube.log").open("ab")
        node_args = ["--node-ip", node_ip] if node_ip else []
        subprocess.Popen(
            [sys.executable, "-m", "localkube", "serve", "--dir", str(directory), *node_args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while state is None and time.monotonic() < deadline:
            time.sleep(0.5)
            state = _state(directory)
        if state is None:
            tail = (directory / "localkube.log").read_text(errors="replace")[-2000:]
            typer.echo(f"the local cluster did not start within {timeout:.0f}s:\n{tail}", err=True)
            raise typer.Exit(1)
        typer.echo(f"local cluster up at {state['server']}", err=True)
    else:
        typer.echo(f"local cluster already running at {state['server']}", err=True)
    typer.echo(f"export KUBECONFIG={state['kubeconfig']}")


@app.command()
def serve(directory: StateDir = DEFAULT_DIR, node_ip: NodeIp = None) -> None:
    """Run the cluster in the foreground until SIGTERM (what ``up`` starts in the background)."""
    # sigwait only receives blocked signals; unblocked, SIGTERM would kill this process before
    # the cluster's cleanup runs and orphan etcd and kube-apiserver.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        with local_cluster(
            directory, _bin_dir(), pinned_crd_versions(), node_ip=node_ip
        ) as cluster:
            state = {
                "pid": str(os.getpid()),
                "server": cluster.server,
                "kubeconfig": str(cluster.kubeconfig),
            }
            if node_ip is not None:
                state["node_ip"] = node_ip
            (directory / "state.json").write_text(json.dumps(state))
            signal.sigwait(stop_signals)
    except ClusterStartError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        (directory / "state.json").unlink(missing_ok=True)


@app.command()
def down(directory: StateDir = DEFAULT_DIR) -> None:
    """Stop the cluster (its objects go with it; Pulumi state stays and heals them next run)."""
    state = _state(directory)
    if state is None:
        typer.echo("no local cluster is running", err=True)
        return
    os.kill(int(state["pid"]), signal.SIGTERM)
    for _ in range(60):
        if _state(directory) is None:
            typer.echo("local cluster stopped", err=True)
            return
        time.sleep(0.5)
    typer.echo("the local cluster did not stop within 30s", err=True)
    raise typer.Exit(1)


@app.command()
def status(directory: StateDir = DEFAULT_DIR) -> None:
    """Say whether the cluster runs, and where."""
    state = _state(directory)
    if state is None:
        typer.echo("not running")
        raise typer.Exit(1)
    typer.echo(f"running at {state['server']} (KUBECONFIG={state['kubeconfig']})")


if __name__ == "__main__":
    app()
