"""The reset drill wipes a Coder on purpose: it runs only on a local or e2e stack that seeds an
existing Coder, expects back exactly what that stack seeds, and lists each check (here read
from the Coder double, as the drill reads the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coder_platform.coder_api import CoderClient
from coder_platform.coder_api.templates import TemplateMeta
from coder_platform.template_archive import build_archive
from localplatform.binaries import ROOT
from localplatform.daemon import PartError
from localplatform.reset_drill import (
    DrillRefusedError,
    Expected,
    ResetDrillResult,
    expected_from,
    verify_seeded,
)
from testbed.coder_double import BASE_URL, CoderDouble
from testbed.coder_double.people import DoubleLicense
from tests.components.providers.seeded_coder import client_factory, mint_token, seeded_double

TEMPLATE_DIRECTORY = ROOT / "localplatform" / "templates" / "hello"


def test_the_drill_is_refused_when_the_stack_is_managed() -> None:
    with pytest.raises(DrillRefusedError, match="environment is 'prod'"):
        expected_from(ROOT / "stacks" / "Pulumi.prod.yaml")


def test_the_drill_is_refused_when_the_stack_deploys_its_own_coder(tmp_path: Path) -> None:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    document["config"]["coder-platform:environment"] = "e2e"
    dev = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    document["config"]["coder-platform:coder"] = dev["config"]["coder-platform:coder"]
    stack = tmp_path / "Pulumi.e2e.yaml"
    stack.write_text(yaml.safe_dump(document))
    with pytest.raises(DrillRefusedError, match=r"coder\.deploy: false"):
        expected_from(stack)


def test_the_drill_names_the_key_when_the_stack_is_invalid(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.e2e.yaml"
    stack.write_text(yaml.safe_dump({"config": {"coder-platform:environment": "e2e"}}))
    with pytest.raises(PartError, match="coder-platform:database: is required"):
        expected_from(stack)


def test_the_local_stack_expects_its_users_and_template_back() -> None:
    expected = expected_from(ROOT / "stacks" / "Pulumi.local.yaml")
    assert sorted(expected.users) == ["ci-robot", "platform-admin", "template-author"]
    assert expected.users["ci-robot"].login_type == "none"
    assert expected.license is True
    assert expected.groups == {"platform-team": ["ci-robot", "platform-admin", "template-author"]}
    assert expected.users["template-author"].login_type == "password"
    assert expected.templates == ["hello"]
    assert expected.token_path == "coder/coder-cli-session-token"


def test_the_local_stack_expects_its_template_access_and_everyone_quota_back() -> None:
    expected = expected_from(ROOT / "stacks" / "Pulumi.local.yaml")
    assert expected.template_access == {
        "hello": {"group:Everyone": "use", "group:platform-team": "admin"}
    }
    assert expected.everyone_quota == 2


DECLARED_ACCESS = {"group:Everyone": "use", "group:team": "admin"}


def _premium_coder(*, healed: bool) -> tuple[CoderDouble, CoderClient]:
    """A licensed double with a template and a group; healed: the declared ACL and quota set,
    else as a reset and a bare re-create leave them (Everyone alone uses it, quota 0)."""
    double = seeded_double()
    double.licenses[1] = DoubleLicense(1, "premium", "jwt", {"feature_set": "premium"})
    client = client_factory(double)(BASE_URL)
    client.authenticate(mint_token(double, "drill"))
    file_id = client.upload_file(build_archive(TEMPLATE_DIRECTORY).data)
    version = client.create_template_version("default", file_id)
    client.wait_for_version_job(version.id, deadline_seconds=120)
    template = client.create_template("default", "hello", version.id, TemplateMeta())
    team = client.create_group("default", "team")
    if healed:
        client.update_template_acl(template.id, group_perms={team.id: "admin"})
        everyone = client.get_group_by_name("default", "Everyone")
        assert everyone is not None
        client.update_group(everyone.id, quota_allowance=2)
    return double, client


def _drill_checks(*, healed: bool) -> dict[str, tuple[bool, str]]:
    expected = Expected(
        users={},
        templates=["hello"],
        token_path="coder/token",
        template_access={"hello": DECLARED_ACCESS},
        everyone_quota=2,
    )
    result = ResetDrillResult()
    _, client = _premium_coder(healed=healed)
    with client:
        verify_seeded(client, expected, result)
    return {name: (ok, detail) for name, ok, detail in result.checks}


def test_the_drill_lists_the_template_access_and_the_everyone_quota_when_they_are_back() -> None:
    checks = _drill_checks(healed=True)
    assert checks["template hello access"] == (
        True,
        "group:Everyone use, group:team admin",
    )
    assert checks["Everyone quota"] == (True, "2 back")
    assert all(ok for ok, _ in checks.values())


def test_the_drill_fails_naming_what_is_missing_when_access_and_quota_are_not_back() -> None:
    checks = _drill_checks(healed=False)
    assert checks["template hello"][0] is True
    assert checks["template hello access"] == (False, "missing or {'group:Everyone': 'use'}")
    assert checks["Everyone quota"] == (False, "0, not 2")
