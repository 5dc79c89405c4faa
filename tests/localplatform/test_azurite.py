"""The node's Azurite account: how clients reach it, and its key kept private."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from localplatform import azurite
from localplatform.daemon import Daemon, PartError


def test_the_destination_is_barmans_emulated_storage_form_when_on_the_node_address() -> None:
    # barman-cloud reads http://<host>:<port>/<account>/<container> outside Azure's domain.
    assert azurite.destination_path("10.1.2.3") == (
        f"http://10.1.2.3:{azurite.BLOB_PORT}/{azurite.ACCOUNT}/{azurite.CONTAINER}"
    )
    text = azurite.connection_string("10.1.2.3", "a2V5")
    assert f"AccountName={azurite.ACCOUNT};AccountKey=a2V5;" in text
    assert f"BlobEndpoint=http://10.1.2.3:{azurite.BLOB_PORT}/{azurite.ACCOUNT};" in text


def test_the_account_key_is_made_once_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    key = azurite.account_key(tmp_path)
    assert len(base64.b64decode(key)) == 64
    assert azurite.account_key(tmp_path) == key
    mode = stat.S_IMODE((tmp_path / "azurite-account-key").stat().st_mode)
    assert mode == 0o600


def test_starting_without_node_on_path_fails_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PartError, match="`node` is not on PATH"):
        azurite.start(Daemon("azurite", tmp_path), tmp_path / "main.js", "127.0.0.1", "a2V5")
    assert not (tmp_path / "azurite.pid").exists()
