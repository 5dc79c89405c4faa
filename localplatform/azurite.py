"""Azurite on the node: the Azure Blob API where the Barman Cloud plugin writes WAL and base
backups (Azure Blob Storage in dev and prod, reached there through the workload identity).

It binds the node's address, as the API server does, so instance pods reach it. Its one storage
account is this instance's own: the name below and a key made once and kept in a file only root
reads (``AZURITE_ACCOUNTS`` replaces Azurite's well-known development account). Clients hold a
connection string (barman-cloud reads ``AZURE_STORAGE_CONNECTION_STRING``; the plugin sets it from
an ObjectStore's ``azureCredentials.connectionString`` Secret). barman-cloud treats a URL outside
``*.blob.core.windows.net`` as emulated storage: ``http://<host>:<port>/<account>/<container>``.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from localplatform.daemon import Daemon, PartError, write_private

ACCOUNT = "coderplatform"
BLOB_PORT = 10000
# The container the node's backups go to, created when Azurite starts.
CONTAINER = "backups"


def connection_string(host: str, key: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
        f"BlobEndpoint=http://{host}:{BLOB_PORT}/{ACCOUNT};"
    )


def destination_path(host: str, container: str = CONTAINER) -> str:
    return f"http://{host}:{BLOB_PORT}/{ACCOUNT}/{container}"


def account_key(directory: Path) -> str:
    """This instance's account key, made on first use (base64 of 64 random bytes, as Azure's)."""
    path = directory / "azurite-account-key"
    if not path.exists():
        write_private(path, base64.b64encode(secrets.token_bytes(64)).decode())
    return path.read_text().strip()


def _listening(host: str) -> bool:
    with socket.create_connection((host, BLOB_PORT), timeout=1):
        return True


def start(daemon: Daemon, main_js: Path, host: str, key: str) -> None:
    if daemon.pid() is not None:
        return
    node = shutil.which("node")
    if node is None:
        raise PartError("azurite: `node` is not on PATH (Azurite runs on Node.js)")
    data = daemon.directory / "azurite"
    data.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{key}"}
    daemon.start(
        [
            node,
            str(main_js),
            "--blobHost",
            host,
            "--blobPort",
            str(BLOB_PORT),
            "--location",
            str(data),
            # barman's azure-storage-blob may speak a newer API version than Azurite knows.
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ],
        env,
    )
    daemon.wait_until(lambda: _listening(host), "listening", 60)


def create_container(venv: Path, host: str, key: str, container: str = CONTAINER) -> None:
    """Create ``container`` if absent, with the Azure SDK of barman's venv (the client the
    backups use); the connection string reaches it through the environment, never argv."""
    script = (
        "import os\n"
        "from azure.core.exceptions import ResourceExistsError\n"
        "from azure.storage.blob import ContainerClient\n"
        "client = ContainerClient.from_connection_string(\n"
        "    os.environ['AZURE_STORAGE_CONNECTION_STRING'], os.environ['CONTAINER'])\n"
        "try:\n"
        "    client.create_container()\n"
        "except ResourceExistsError:\n"
        "    pass\n"
    )
    env = {
        **os.environ,
        "AZURE_STORAGE_CONNECTION_STRING": connection_string(host, key),
        "CONTAINER": container,
    }
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise PartError(f"azurite: creating container {container!r} failed: {out.stderr[-800:]}")
