"""Seeding the stack's bootstrap inputs into the local OpenBao: only what is missing, never a
value printed or overwritten, at the paths the stack's own config names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coder_platform.coder_api.people import license_claims
from localplatform.binaries import ROOT
from localplatform.inputs import (
    AUTOMATION_USERNAME,
    ConnectionStringMissingError,
    LicenseMissingError,
    refresh_oidc_record,
    seed_missing_inputs,
)
from localplatform.license import LicenseSigner
from localplatform.openbao import OidcClient


class FakeKv:
    def __init__(self, data: dict[str, dict[str, str]] | None = None) -> None:
        self.data = dict(data or {})
        self.writes: list[str] = []

    def read_kv(self, path: str) -> dict[str, str] | None:
        return self.data.get(path)

    def write_kv(self, path: str, data: dict[str, str]) -> None:
        self.writes.append(path)
        self.data[path] = data


def _stack(tmp_path: Path, **config: object) -> Path:
    """The local stack with these ``coder-platform:*`` sections replaced (a valid stack)."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    document["config"].update({f"coder-platform:{key}": value for key, value in config.items()})
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _seeding(**extra: object) -> dict[str, object]:
    users = [
        {
            "username": "dev-pw",
            "email": "dev-pw@coder-platform.local",
            "loginType": "password",
            "passwordPath": "coder/users/dev-pw",
        }
    ]
    return {
        "enabled": True,
        "templatesDirectory": "localplatform/templates",
        "users": users,
        **extra,
    }


def test_every_input_is_written_when_the_store_is_empty(tmp_path: Path) -> None:
    stack = _stack(tmp_path, seeding=_seeding())
    kv = FakeKv()
    oidc = OidcClient("http://127.0.0.1:1/v1/identity/oidc/provider/default", "cid", "csecret")
    written = seed_missing_inputs(kv, stack, oidc)
    assert written == ["coder/oidc", "coder/bootstrap-admin", "coder/users/dev-pw"]
    assert kv.data["coder/oidc"] == {
        "client_secret": "csecret",
        "client_id": "cid",
        "issuer_url": "http://127.0.0.1:1/v1/identity/oidc/provider/default",
    }
    admin = kv.data["coder/bootstrap-admin"]
    assert admin["username"] == AUTOMATION_USERNAME
    assert len(admin["password"]) >= 24
    assert len(kv.data["coder/users/dev-pw"]["password"]) >= 24


def test_existing_inputs_are_never_overwritten_when_seeding_again(tmp_path: Path) -> None:
    stack = _stack(tmp_path, seeding=_seeding(users=[]))
    kept = {"email": "a@b.c", "username": "someone", "password": "kept-as-is-123456"}
    kv = FakeKv({"coder/bootstrap-admin": kept})
    assert seed_missing_inputs(kv, stack, None) == ["coder/oidc"]
    assert kv.data["coder/bootstrap-admin"] == kept


def test_paths_follow_the_stack_config_when_it_moves_them(tmp_path: Path) -> None:
    vault = {
        "enabled": True,
        "address": "http://127.0.0.1:18200",
        "provider": "api",
        "oidcClientSecretPath": "x/oidc",
        "bootstrapAdminPath": "x/admin",
    }
    kv = FakeKv()
    assert seed_missing_inputs(
        kv, _stack(tmp_path, vault=vault, seeding=_seeding(users=[])), None
    ) == [
        "x/oidc",
        "x/admin",
    ]


def test_the_license_path_is_named_and_nothing_is_invented_when_no_license_is_there(
    tmp_path: Path,
) -> None:
    stack = _stack(tmp_path, seeding=_seeding(license={"vaultPath": "coder/license"}))
    kv = FakeKv()
    with pytest.raises(LicenseMissingError, match="coder/license: the stack seeds a Coder license"):
        seed_missing_inputs(kv, stack, None)
    assert "coder/license" not in kv.data


def test_a_license_is_signed_with_the_platform_key_when_the_stack_seeds_one_and_none_is_there(
    tmp_path: Path,
) -> None:
    stack = _stack(tmp_path, seeding=_seeding(license={"vaultPath": "coder/license"}))
    kv = FakeKv()
    signer = LicenseSigner(tmp_path / "key.pem")
    assert "coder/license" in seed_missing_inputs(kv, stack, None, signer)
    jwt = kv.data["coder/license"]["license"]
    assert jwt.count(".") == 2 and license_claims(jwt) is not None
    assert seed_missing_inputs(kv, stack, None, signer) == []
    assert kv.data["coder/license"]["license"] == jwt


def test_a_license_already_there_is_kept_when_the_stack_seeds_one(tmp_path: Path) -> None:
    stack = _stack(tmp_path, seeding=_seeding(license={"vaultPath": "coder/license"}))
    kv = FakeKv({"coder/license": {"license": "a-real-jwt"}})
    written = seed_missing_inputs(kv, stack, None)
    assert "coder/license" not in written
    assert kv.data["coder/license"] == {"license": "a-real-jwt"}


def _node_stack(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.node.yaml"
    path.write_text((ROOT / "stacks" / "Pulumi.node.yaml").read_text())
    return path


def test_the_nodes_connection_string_is_seeded_when_the_stack_reads_one(tmp_path: Path) -> None:
    kv = FakeKv()
    node_store = "AccountName=coderplatform;AccountKey=node-key;BlobEndpoint=http://h:1/a"
    signer = LicenseSigner(tmp_path / "key.pem")  # the node stack seeds a license too
    written = seed_missing_inputs(kv, _node_stack(tmp_path), None, signer, node_store)
    assert "coder/backup-store" in written
    assert kv.data["coder/backup-store"] == {"connectionString": node_store}
    # Never overwritten: a second up with another node keeps what is there.
    assert seed_missing_inputs(kv, _node_stack(tmp_path), None, signer, "other") == []
    assert kv.data["coder/backup-store"] == {"connectionString": node_store}


def test_a_missing_connection_string_is_named_and_nothing_invented_without_a_node(
    tmp_path: Path,
) -> None:
    kv = FakeKv()
    with pytest.raises(ConnectionStringMissingError, match=r"coder/backup-store: .*--node"):
        seed_missing_inputs(kv, _node_stack(tmp_path), None)
    assert "coder/backup-store" not in kv.data


NODE_ISSUER = "http://10.1.2.3:18200/v1/identity/oidc/provider/default"


def test_the_node_stack_needs_the_oidc_client_id_and_issuer_from_openbao(tmp_path: Path) -> None:
    kv = FakeKv()
    oidc = OidcClient(NODE_ISSUER, "bao-client", "csecret")
    signer = LicenseSigner(tmp_path / "key.pem")
    seed_missing_inputs(kv, _node_stack(tmp_path), oidc, signer, "AccountName=a;AccountKey=k")
    # What the program reads when coder.oidc leaves them unset (vault_inputs.oidc_keys).
    assert kv.data["coder/oidc"] == {
        "client_secret": "csecret",
        "client_id": "bao-client",
        "issuer_url": NODE_ISSUER,
    }


def test_the_oidc_record_is_brought_up_to_date_when_seeded_before_it_held_the_issuer() -> None:
    kv = FakeKv(
        {"coder/oidc": {"client_secret": "csecret", "client_id": "bao-client", "other": "kept"}}
    )
    stale = refresh_oidc_record(kv, "coder/oidc", OidcClient(NODE_ISSUER, "bao-client", "csecret"))
    assert stale == ["issuer_url"]
    assert kv.data["coder/oidc"] == {
        "client_secret": "csecret",
        "client_id": "bao-client",
        "issuer_url": NODE_ISSUER,
        "other": "kept",
    }


def test_the_oidc_record_follows_the_issuer_when_the_node_address_changed() -> None:
    old = "http://10.9.9.9:18200/v1/identity/oidc/provider/default"
    kv = FakeKv(
        {"coder/oidc": {"client_secret": "csecret", "client_id": "bao-client", "issuer_url": old}}
    )
    client = OidcClient(NODE_ISSUER, "bao-client", "csecret")
    assert refresh_oidc_record(kv, "coder/oidc", client) == ["issuer_url"]
    assert kv.data["coder/oidc"]["issuer_url"] == NODE_ISSUER
    # Current now: read, nothing written.
    assert refresh_oidc_record(kv, "coder/oidc", client) == []
    assert kv.writes == ["coder/oidc"]


def test_the_oidc_record_takes_openbaos_client_when_it_was_seeded_without_oidc() -> None:
    kv = FakeKv({"coder/oidc": {"client_secret": "generated", "client_id": "none"}})
    client = OidcClient(NODE_ISSUER, "bao-client", "csecret")
    stale = refresh_oidc_record(kv, "coder/oidc", client)
    assert stale == ["client_secret", "client_id", "issuer_url"]
    assert kv.data["coder/oidc"] == {
        "client_secret": "csecret",
        "client_id": "bao-client",
        "issuer_url": NODE_ISSUER,
    }


def test_a_missing_oidc_record_is_left_to_seeding_when_refreshed() -> None:
    kv = FakeKv()
    client = OidcClient(NODE_ISSUER, "bao-client", "csecret")
    assert refresh_oidc_record(kv, "coder/oidc", client) == []
    assert kv.writes == []
