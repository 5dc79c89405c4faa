"""Where each part of the local platform answers and keeps its files: their one home.

Pure functions of a port or a directory, with no heavy imports, so ``up`` on a running platform
and ``env`` print the runner's environment without loading a part's client code or asking
``scripts/install-platform`` for the binaries.
"""

from __future__ import annotations

import socket
from pathlib import Path


def coder_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def openbao_address(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def openbao_issuer_base(port: int, node_address: str | None) -> str:
    """The scheme://host:port of OpenBao's OIDC issuer: the node's address when the platform
    runs a node (pods reach it, and so does the host), else loopback (OpenBao's api_addr)."""
    return openbao_address(port) if node_address is None else f"http://{node_address}:{port}"


def openbao_token_file(directory: Path) -> Path:
    """The root token alone, for ``VAULT_TOKEN="$(cat <file>)"``."""
    return directory / "root-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_port(directory: Path) -> int:
    """Chosen free once, then kept: Coder's URL and any open psql session stay valid."""
    path = directory / "port"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{free_port()}\n")
    return int(path.read_text())
