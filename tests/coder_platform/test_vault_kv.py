"""One KV v2 read, and what each failure becomes on the program's and the runner's side."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests
from hvac import exceptions as hvac_errors

from automation.errors import DependencyUnreachableError
from automation.observe.vault_access import PublishedTokenReader
from coder_platform import vault_kv
from coder_platform.vault_inputs import HvacKvReader, VaultInputError

SECRET = "kv-Secret-8d2f6a1c0e9b"


def fake_vault(answer: dict[str, Any] | Exception) -> Any:
    """An hvac client whose KV v2 read returns ``answer`` or raises it."""

    def read_secret_version(**_kwargs: Any) -> dict[str, Any]:
        if isinstance(answer, Exception):
            raise answer
        return answer

    kv = SimpleNamespace(v2=SimpleNamespace(read_secret_version=read_secret_version))
    return SimpleNamespace(secrets=SimpleNamespace(kv=kv))


def test_read_returns_string_values_without_nulls_when_the_path_exists() -> None:
    vault = fake_vault({"data": {"data": {"token": SECRET, "ttl": 3600, "gone": None}}})

    assert vault_kv.read_kv(vault, "platform", "coder/token") == {"token": SECRET, "ttl": "3600"}


def test_read_returns_none_when_the_path_does_not_exist() -> None:
    assert vault_kv.read_kv(fake_vault(hvac_errors.InvalidPath()), "platform", "x") is None


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (hvac_errors.Forbidden(), vault_kv.KvDeniedError),
        (hvac_errors.Unauthorized(), vault_kv.KvDeniedError),
        (requests.ConnectionError(), vault_kv.KvUnreachableError),
        (requests.Timeout(), vault_kv.KvUnreachableError),
        (hvac_errors.VaultDown(), vault_kv.KvUnreachableError),
    ],
)
def test_read_names_the_path_and_the_cause_when_vault_fails(
    raised: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected, match=r"^platform/coder/token$"):
        vault_kv.read_kv(fake_vault(raised), "platform", "coder/token")


def hvac_reader(answer: dict[str, Any] | Exception) -> HvacKvReader:
    reader = HvacKvReader("http://vault.test:8200", "unused")
    reader._client = fake_vault(answer)
    return reader


def token_reader(answer: dict[str, Any] | Exception) -> PublishedTokenReader:
    reader = PublishedTokenReader("http://vault.test:8200", "unused", "platform", "coder/token")
    reader._client = fake_vault(answer)
    return reader


def test_program_reports_a_config_error_naming_the_path_when_vault_denies() -> None:
    with pytest.raises(VaultInputError, match="denied reading platform/coder/oidc: check VAULT"):
        hvac_reader(hvac_errors.Forbidden()).read("platform", "coder/oidc")


def test_program_reports_the_address_when_vault_is_unreachable() -> None:
    with pytest.raises(VaultInputError, match=r"http://vault\.test:8200 is unreachable"):
        hvac_reader(requests.ConnectionError()).read("platform", "coder/oidc")


def test_runner_reports_a_dependency_down_when_vault_denies_the_published_token() -> None:
    with pytest.raises(DependencyUnreachableError, match="denied reading platform/coder/token"):
        token_reader(hvac_errors.Unauthorized())()


def test_runner_reads_the_published_token_when_it_is_there() -> None:
    assert token_reader({"data": {"data": {"token": SECRET}}})() == SECRET


def test_runner_sees_no_token_when_the_path_or_key_is_missing() -> None:
    assert token_reader(hvac_errors.InvalidPath())() is None
    assert token_reader({"data": {"data": {"other": "x"}}})() is None
