"""What the drill asks the restored database: are Coder's tables there, with users and
templates in them, and how new is the newest row.

The newest row time gives the RPO: the drill's start minus the newest timestamp among the
columns Coder writes as it runs (heartbeats, API-key use, builds, audit entries). It is an
upper bound on the data a loss would cost, and a tight one on a busy deployment; an idle Coder
makes it look worse than the archive really is. Only columns that exist are read, so a Coder
release that renames one narrows the measurement instead of failing the drill.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql

from automation.drill.kube import DrillError
from coder_platform.specs.postgres_tls import VERIFIED_SSLMODE

REQUIRED_TABLES = ("users", "templates")
# (table, column) pairs Coder keeps current while it runs; each is read only if present.
FRESHNESS_COLUMNS = (
    ("replicas", "updated_at"),
    ("workspace_agent_stats", "created_at"),
    ("api_keys", "last_used"),
    ("audit_logs", "time"),
    ("workspace_builds", "updated_at"),
    ("users", "last_seen_at"),
    ("users", "updated_at"),
    ("templates", "updated_at"),
    ("template_versions", "updated_at"),
)
# Rows with these boolean columns true do not count as present (soft deletes, system users).
EXCLUDED_FLAGS = ("deleted", "is_system")


@dataclass(frozen=True)
class DbTarget:
    """Where the restored database answers; the password never shows in a repr."""

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    # The cluster's server CA (PEM): CloudNativePG keeps it in the ``<cluster>-ca`` Secret under
    # ``ca.crt``, "used as sslrootcert in clients' connection strings" (CNPG docs, Certificates).
    ca_cert: str = ""


class CoderTables(Protocol):
    def columns(self) -> Mapping[str, set[str]]:
        """Every table in the public schema and its columns."""
        ...

    def count(self, table: str, false_columns: Sequence[str]) -> int:
        """Rows of ``table`` whose ``false_columns`` are all false."""
        ...

    def newest(self, table: str, column: str) -> datetime | None: ...


@dataclass(frozen=True)
class CoderSnapshot:
    missing_tables: tuple[str, ...]
    users: int
    templates: int
    newest_row_at: datetime | None
    newest_source: str | None


def read_snapshot(tables: CoderTables) -> CoderSnapshot:
    schema = tables.columns()
    missing = tuple(t for t in REQUIRED_TABLES if t not in schema)
    counts: dict[str, int] = {}
    for table in REQUIRED_TABLES:
        if table in schema:
            flags = [c for c in EXCLUDED_FLAGS if c in schema[table]]
            counts[table] = tables.count(table, flags)
    newest: tuple[datetime, str] | None = None
    for table, column in FRESHNESS_COLUMNS:
        if column not in schema.get(table, set()):
            continue
        value = tables.newest(table, column)
        if value is None:
            continue
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if newest is None or value > newest[0]:
            newest = (value, f"{table}.{column}")
    return CoderSnapshot(
        missing_tables=missing,
        users=counts.get("users", 0),
        templates=counts.get("templates", 0),
        newest_row_at=newest[0] if newest else None,
        newest_source=newest[1] if newest else None,
    )


class PsycopgTables:
    """``CoderTables`` over a psycopg 3 connection; identifiers are quoted, never formatted."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def _rows(self, query: Any, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection.cursor() as cursor:
            cursor.execute(query, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def columns(self) -> Mapping[str, set[str]]:
        schema: dict[str, set[str]] = {}
        for table, column in self._rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        ):
            schema.setdefault(str(table), set()).add(str(column))
        return schema

    def count(self, table: str, false_columns: Sequence[str]) -> int:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        if false_columns:
            query = sql.SQL("{} WHERE {}").format(
                query,
                sql.SQL(" AND ").join(
                    sql.SQL("NOT coalesce({}, false)").format(sql.Identifier(c))
                    for c in false_columns
                ),
            )
        [(count,)] = self._rows(query)
        return int(count)

    def newest(self, table: str, column: str) -> datetime | None:
        query = sql.SQL("SELECT max({}) FROM {}").format(
            sql.Identifier(column), sql.Identifier(table)
        )
        [(value,)] = self._rows(query)
        return value if isinstance(value, datetime) else None


@contextlib.contextmanager
def psycopg_tables(target: DbTarget) -> Iterator[CoderTables]:
    """A read-only session on the restored database, over TLS verified against the cluster's
    own CA and host name (``verify-full``): ``require`` would encrypt to whoever answers."""
    try:
        with (
            tempfile.NamedTemporaryFile("w", suffix=".crt", encoding="ascii") as ca_file,
        ):
            ca_file.write(target.ca_cert)
            ca_file.flush()
            with psycopg.connect(
                host=target.host,
                port=target.port,
                dbname=target.database,
                user=target.user,
                password=target.password,
                sslmode=VERIFIED_SSLMODE,
                sslrootcert=ca_file.name,
                connect_timeout=10,
                application_name="coder-platform-restore-drill",
            ) as connection:
                connection.read_only = True
                yield PsycopgTables(connection)
    except psycopg.Error as error:
        # libpq's messages name host, port and user, never the password; the drill's
        # redactor still scrubs it from every recorded detail.
        raise DrillError(
            f"the restored database at {target.host}:{target.port}/{target.database} did not "
            f"answer as {target.user}: {type(error).__name__}: {error}".strip()
        ) from None
