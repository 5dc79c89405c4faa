"""The reset drill wipes a Coder on purpose: it runs only on a local or e2e stack that seeds an
existing Coder, and expects back exactly what that stack seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from localplatform.binaries import ROOT
from localplatform.daemon import PartError
from localplatform.reset_drill import DrillRefusedError, expected_from


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
