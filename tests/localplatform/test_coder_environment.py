"""The environment the local Coder starts with: site role sync (the OIDC user role field) only
for a platform that asks for it, and only with OIDC (Coder reads the field from OIDC claims)."""

from __future__ import annotations

from pathlib import Path

from coder_platform.contracts import OIDC_USER_ROLE_FIELD_ENV
from localplatform.binaries import PlatformBinaries
from localplatform.coder import LocalCoder
from localplatform.openbao import OidcClient

OIDC = OidcClient("http://127.0.0.1:18200/v1/identity/oidc/provider/coder", "id", "not-a-secret")


def _coder(tmp_path: Path, role_field: str = "") -> LocalCoder:
    binaries = PlatformBinaries(
        coder=tmp_path / "coder",
        coder_version="2.36.1",
        terraform=tmp_path / "tofu" / "terraform",
        tf_cli_config_file=tmp_path / "tf.rc",
        bao=tmp_path / "bao",
        postgres_bin=tmp_path / "pg",
    )
    return LocalCoder(tmp_path, binaries, 17999, oidc_user_role_field=role_field)


def test_coder_starts_without_role_sync_when_no_role_field_is_asked_for(tmp_path: Path) -> None:
    env = _coder(tmp_path).environment("postgres://coder", OIDC)
    assert OIDC_USER_ROLE_FIELD_ENV not in env


def test_coder_reads_site_roles_from_the_claim_when_a_role_field_is_asked_for(
    tmp_path: Path,
) -> None:
    env = _coder(tmp_path, "roles").environment("postgres://coder", OIDC)
    assert env[OIDC_USER_ROLE_FIELD_ENV] == "roles"


def test_coder_gets_no_role_field_when_it_has_no_oidc(tmp_path: Path) -> None:
    env = _coder(tmp_path, "roles").environment("postgres://coder", None)
    assert OIDC_USER_ROLE_FIELD_ENV not in env
