"""GeneratedPassword: generated once, URI-safe, secret, and stable until its length changes."""

from __future__ import annotations

from components.providers.generated_password import ALPHABET, GeneratedPasswordProvider


def created_password(length: int) -> str:
    outs = GeneratedPasswordProvider().create({"length": length}).outs
    assert outs is not None
    return str(outs["result"])


def test_create_generates_a_uri_safe_password_of_the_requested_length() -> None:
    password = created_password(40)
    assert len(password) == 40
    assert set(password) <= set(ALPHABET)


def test_two_creates_never_share_a_password() -> None:
    assert created_password(32) != created_password(32)


def test_diff_keeps_the_password_when_nothing_changed() -> None:
    diff = GeneratedPasswordProvider().diff("id", {"length": 32, "result": "x"}, {"length": 32})
    assert not diff.changes
    assert not diff.replaces


def test_diff_replaces_when_the_length_changes() -> None:
    diff = GeneratedPasswordProvider().diff("id", {"length": 32, "result": "x"}, {"length": 48})
    assert diff.changes
    assert diff.replaces == ["length"]


def test_read_returns_what_state_holds() -> None:
    read = GeneratedPasswordProvider().read("id", {"length": 32, "result": "kept"})
    assert read.outs == {"length": 32, "result": "kept"}


def test_check_rejects_short_lengths_naming_the_field() -> None:
    failures = GeneratedPasswordProvider().check({}, {"length": 8}).failures
    assert [f.property for f in failures] == ["length"]
