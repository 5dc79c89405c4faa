"""The bench's pack rows time the pack on what the program registers, and say so when not."""

from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel

from bench import mocked
from bench.measure import Measurement
from testbed.policy_engine import Resource, Violation, load_pack_config, run_pack
from testbed.policy_stacks import stack_resources

SECRET_TOKEN = Resource(
    "pulumi-python:dynamic/coder:CoderApiToken",
    "automation-token",
    {"token": "x"},
    parent="urn:pulumi:dev::coder-platform::coder-platform:seeding:CoderSeed::seed",
    secret_outputs=("token",),
)


def test_replicated_copies_keep_their_secret_outputs_and_parent_when_renamed() -> None:
    copies = mocked.replicate([SECRET_TOKEN], 3)

    assert [c.name for c in copies] == [
        "automation-token",
        "automation-token-r1",
        "automation-token-r2",
    ]
    assert {c.secret_outputs for c in copies} == {("token",)}
    assert {c.parent for c in copies} == {SECRET_TOKEN.parent}


def test_a_pack_row_is_an_error_not_a_number_when_the_pack_finds_violations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = Violation(
        "secrets-stay-secret", EnforcementLevel.MANDATORY, "mark token secret", "urn:x"
    )
    monkeypatch.setattr(mocked, "stack_resources", lambda _stack: [SECRET_TOKEN])
    monkeypatch.setattr(mocked, "load_pack_config", lambda _stack: {})
    monkeypatch.setattr(mocked, "run_pack", lambda *_args: [found])

    rows: list[Measurement] = mocked.pack_scaling(1, lambda _message: None)

    assert all(row.samples == [] for row in rows)
    assert all("expected 0" in str(row.error) for row in rows)


def test_every_pack_row_reports_zero_violations_when_the_pack_agrees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mocked, "stack_resources", lambda _stack: [SECRET_TOKEN])
    monkeypatch.setattr(mocked, "load_pack_config", lambda _stack: {})
    monkeypatch.setattr(mocked, "run_pack", lambda *_args: [])

    rows = mocked.pack_scaling(1, lambda _message: None)

    assert [row.error for row in rows] == [None, None, None]
    assert [row.note for row in rows] == [
        "1 resources, 0 violations",
        "10 resources, 0 violations",
        "100 resources, 0 violations",
    ]


def test_the_pack_finds_nothing_in_two_copies_of_dev_when_copies_keep_their_registration() -> None:
    copies = mocked.replicate(stack_resources("dev"), 2)

    assert run_pack(copies, "dev", load_pack_config("dev")) == []
