"""SQL from the host into a CNPG cluster on the node, as the app owner: what a drill writes and
reads back. The primary's pod address is routed by the node's bridge, so no port-forward."""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from coder_platform.names import app_secret_name
from localplatform.polling import wait_for


@dataclass(frozen=True)
class CnpgProbe:
    client: httpx.Client
    namespace: str
    cluster: str
    psql: Path

    def _login(self) -> dict[str, str]:
        path = f"/api/v1/namespaces/{self.namespace}/secrets/{app_secret_name(self.cluster)}"
        response = self.client.get(path)
        if response.status_code != 200:
            return {}
        return {k: base64.b64decode(v).decode() for k, v in response.json()["data"].items()}

    def _primary_address(self) -> str | None:
        pod = self.client.get(f"/api/v1/namespaces/{self.namespace}/pods/{self.cluster}-1")
        if pod.status_code != 200:
            return None
        address: str | None = pod.json().get("status", {}).get("podIP")
        return address

    def sql(self, sql: str) -> str | None:
        """``sql``'s rows (psql's unaligned tuples), or ``None`` while the database does not
        answer yet (no pod address, no app Secret, or psql failed)."""
        address = self._primary_address()
        login = self._login() if address else {}
        if not address or "password" not in login:
            return None
        command = [
            *(str(self.psql), "-h", address, "-U", login["username"], "-d", login["dbname"]),
            *("-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql),
        ]
        # The password goes by environment, never argv (visible to every user in ps).
        env = {**os.environ, "PGPASSWORD": login["password"], "PGCONNECT_TIMEOUT": "5"}
        try:
            out = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=60, check=False
            )
        except subprocess.TimeoutExpired:
            return None
        return out.stdout if out.returncode == 0 else None

    def must(self, sql: str, seconds: float = 120) -> str:
        """``sql``'s rows once the database answers it, within ``seconds``."""

        def answer() -> list[str] | None:
            out = self.sql(sql)
            return None if out is None else [out]

        answered: list[str] = wait_for(answer, f"the database to answer {sql!r}", seconds)
        return answered[0]

    def archive_current_wal(self) -> str:
        """Fill the current WAL segment with a table of WAL, as a busy database does, and wait
        until it is archived: pg_switch_wal (what archive_timeout does on a quiet database) is
        the superuser's, and CNPG gives the app owner no more. Returns the segment's name."""
        segment = self.must("SELECT pg_walfile_name(pg_current_wal_lsn())").strip()
        self.must(
            "CREATE TABLE wal_filler AS SELECT g, repeat('x', 1000) AS pad "
            "FROM generate_series(1, 30000) AS g; DROP TABLE wal_filler"
        )

        def archived() -> bool:
            last = self.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
            return last is not None and last.strip() >= segment

        wait_for(archived, f"WAL segment {segment} archived", 120)
        return segment
