"""The reset drill wipes a Coder on purpose: it runs only on a local or e2e stack that seeds an
existing Coder, and expects back exactly what that stack seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from localplatform.binaries import ROOT
from localplatform.reset_drill import DrillRefusedError, expected_from


def test_the_drill_is_refused_when_the_stack_is_managed() -> None:
    with pytest.raises(DrillRefusedError, match="environment is 'prod'"):
        expected_from(ROOT / "stacks" / "Pulumi.prod.yaml")


def test_the_drill_is_refused_when_the_stack_deploys_its_own_coder(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.e2e.yaml"
    config = {"coder-platform:environment": "e2e", "coder-platform:coder": {"deploy": True}}
    stack.write_text(yaml.safe_dump({"config": config}))
    with pytest.raises(DrillRefusedError, match=r"coder\.deploy: false"):
        expected_from(stack)


def test_the_local_stack_expects_its_users_and_template_back() -> None:
    expected = expected_from(ROOT / "stacks" / "Pulumi.local.yaml")
    assert sorted(expected.users) == ["platform-admin", "template-author"]
    assert expected.templates == ["hello"]
