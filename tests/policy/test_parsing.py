"""The small parsers the rules share: Go durations, image pins, secret names, placeholders."""

from __future__ import annotations

import pytest

from policy.lib.durations import parse_seconds
from policy.lib.images import is_pinned
from policy.lib.placeholders import placeholder_kind
from policy.lib.secret_names import DEFAULT_SECRET_NOUNS, looks_secret


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("720h", 720 * 3600.0), ("1h30m", 5400.0), ("90s", 90.0), ("1.5h", 5400.0), ("0", 0.0)],
)
def test_duration_is_read_in_seconds_when_it_is_a_go_duration(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "720", "30 days", "h", "1d", "-1h"])
def test_duration_is_rejected_when_it_is_not_a_go_duration(text: str) -> None:
    assert parse_seconds(text) is None


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/cloudnative-pg/postgresql:17.5",
        "registry.corp.internal:5000/tools/runner:1.4.2",
        "busybox@sha256:" + "a" * 64,
        "ghcr.io/corp/runner:latest@sha256:" + "b" * 64,
    ],
)
def test_image_is_pinned_when_it_has_a_version_tag_or_digest(image: str) -> None:
    assert is_pinned(image)


@pytest.mark.parametrize(
    "image", ["busybox", "ghcr.io/corp/runner:latest", "registry.corp.internal:5000/runner", ""]
)
def test_image_is_floating_when_it_has_no_tag_or_latest(image: str) -> None:
    assert not is_pinned(image)


@pytest.mark.parametrize(
    "name",
    [
        "CODER_OIDC_CLIENT_SECRET",
        "CODER_PG_CONNECTION_URL",
        "clientSecret",
        "adminPassword",
        "PGPASSWORD",
        "GITHUB_TOKEN",
        "ssh_private_key",
        "apiKey",
        "AWS_SECRET_KEY",
    ],
)
def test_name_looks_secret_when_it_ends_in_a_secret_noun(name: str) -> None:
    assert looks_secret(name, DEFAULT_SECRET_NOUNS)


@pytest.mark.parametrize(
    "name",
    [
        "CODER_MAX_TOKEN_LIFETIME",
        "CODER_MAX_ADMIN_TOKEN_LIFETIME",
        "AZURE_FEDERATED_TOKEN_FILE",
        "secretName",
        "wildcardSecretName",
        "existingSecret",
        "tokenTtl",
        "passwordKey",
        "CODER_ACCESS_URL",
    ],
)
def test_name_is_not_secret_when_it_names_a_setting_or_a_reference(name: str) -> None:
    assert not looks_secret(name, DEFAULT_SECRET_NOUNS)


def test_name_is_not_secret_when_it_is_allow_listed() -> None:
    assert not looks_secret("PUBLIC_TOKEN", DEFAULT_SECRET_NOUNS, allowed=["PUBLIC_TOKEN"])


@pytest.mark.parametrize(
    "text",
    [
        "changeme",
        "Change-Me-Later",
        "TODO",
        "REPLACE_ME",
        "https://coder.example.com",
        "admin@example.org",
        "dummy",
        "placeholder-secret",
        "<your client secret>",
    ],
)
def test_value_is_a_placeholder_when_it_carries_a_marker(text: str) -> None:
    assert placeholder_kind(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "https://coder.dev.corp.internal",
        "coder-automation@corp.internal",
        "Xk3v9Qm2dummyZ",
        "todo-app",
        "myexample.com",
        "postgresql://coder@coder-db-rw.coder-db.svc:5432/coder",
    ],
)
def test_value_is_real_when_it_only_resembles_a_marker(text: str) -> None:
    assert placeholder_kind(text) is None


def test_value_is_a_placeholder_when_it_carries_an_extra_marker() -> None:
    assert placeholder_kind("tbd-host", extra_markers=["tbd"]) is not None
