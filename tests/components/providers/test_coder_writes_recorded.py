"""Every Coder write a seeded resource's operation makes lands in the run's write log (kind,
operation, requests, never a value); an operation that writes nothing adds nothing, and with no
log named (outside a runner) nothing is written anywhere. Contract C2/C4: the report's evidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coder_platform.coder_writes import CoderWrites, summarize
from coder_platform.contracts import CODER_WRITE_LOG_ENV
from components.providers.coder_user import CoderUserProvider
from testbed.coder_double import BASE_URL, CoderDouble
from tests.components.providers.seeded_coder import (
    client_factory,
    created,
    mint_token,
    read_outs,
    seeded_double,
)

PASSWORD = "user-Pw-3b9e07c1d5"


@pytest.fixture
def double() -> CoderDouble:
    return seeded_double()


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "coder-writes.jsonl"
    monkeypatch.setenv(CODER_WRITE_LOG_ENV, str(path))
    return path


def user(double: CoderDouble, **overrides: Any) -> dict[str, Any]:
    return {
        "url": BASE_URL,
        "token": mint_token(double, "users"),
        "username": "alice",
        "email": "alice@corp.test",
        "name": "Alice Example",
        "login_type": "password",
        "password": PASSWORD,
        "roles": ["auditor"],
        "suspended": False,
        "on_delete": "suspend",
        **overrides,
    }


def test_a_create_records_its_kind_and_every_write_request_when_the_runner_names_a_log(
    double: CoderDouble, log: Path
) -> None:
    props = user(double)
    start = double.writes()
    created(CoderUserProvider(client_factory(double)), props)
    sent = double.writes() - start

    assert summarize(log) == [CoderWrites("CoderUser", "create", 1, sent)]
    assert sent >= 2  # the user, then its roles
    assert PASSWORD not in log.read_text()


def test_a_read_that_finds_the_user_as_declared_records_nothing(
    double: CoderDouble, log: Path
) -> None:
    provider = CoderUserProvider(client_factory(double))
    user_id, outs = created(provider, user(double))
    log.unlink()

    read_outs(provider, user_id, outs)

    assert not log.exists() and summarize(log) == []


def test_nothing_is_written_anywhere_when_no_log_is_named(
    double: CoderDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CODER_WRITE_LOG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    created(CoderUserProvider(client_factory(double)), user(double))
    assert list(tmp_path.iterdir()) == []


def test_the_summary_sums_per_kind_and_operation_and_skips_a_torn_line(tmp_path: Path) -> None:
    log = tmp_path / "writes.jsonl"
    log.write_text(
        '{"kind": "CoderTemplate", "op": "create", "requests": 3}\n'
        '{"kind": "CoderUser", "op": "create", "requests": 2}\n'
        '{"kind": "CoderUser", "op": "create", "requests": 1}\n'
        '{"kind": "CoderUser", "op": "upd'
    )
    assert summarize(log) == [
        CoderWrites("CoderTemplate", "create", 1, 3),
        CoderWrites("CoderUser", "create", 2, 3),
    ]
