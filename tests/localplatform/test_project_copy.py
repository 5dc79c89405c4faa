"""``point_stack_at``: a copied stack pointed at an instance of its own, for the stack's kind of
Coder (the host's, seeded at ``coder.url``, or a deployed one at its own access URL)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from coder_platform.config import read_stack_file
from coder_platform.contracts import PROJECT
from localplatform.binaries import ROOT
from localplatform.project_copy import point_stack_at

CODER_URL = "http://127.0.0.1:41234"
VAULT_ADDRESS = "http://127.0.0.1:41300"


def _copy(tmp_path: Path, stack: str) -> Path:
    stack_file = tmp_path / "stacks" / f"Pulumi.{stack}.yaml"
    stack_file.parent.mkdir(parents=True)
    shutil.copy2(ROOT / "stacks" / f"Pulumi.{stack}.yaml", stack_file)
    return stack_file


def test_the_host_coders_url_and_openbao_move_when_the_stack_seeds_the_host_coder(
    tmp_path: Path,
) -> None:
    stack_file = _copy(tmp_path, "local")
    point_stack_at(stack_file, CODER_URL, VAULT_ADDRESS)
    config = read_stack_file(stack_file)
    assert config.coder is not None and config.coder.seed_url == CODER_URL
    assert str(config.vault.address).rstrip("/") == VAULT_ADDRESS


def test_a_deployed_coder_keeps_its_access_url_when_the_stack_is_pointed_at_an_instance(
    tmp_path: Path,
) -> None:
    stack_file = _copy(tmp_path, "node")
    point_stack_at(stack_file, CODER_URL, VAULT_ADDRESS)
    raw = yaml.safe_load(stack_file.read_text())["config"][f"{PROJECT}:coder"]
    assert "url" not in raw
    config = read_stack_file(stack_file)
    assert config.coder is not None and config.coder.seed_url == "http://127.0.0.1:30080"
    assert str(config.vault.address).rstrip("/") == VAULT_ADDRESS
