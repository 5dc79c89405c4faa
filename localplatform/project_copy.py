"""A copy of the project to run in, so a run's embedded backend (``.pulumi-state``), its
reports and any stack edit a drill makes never touch the checkout. The drills and the test
tiers run the runner in such a copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from coder_platform.contracts import PROJECT
from localplatform.binaries import ROOT

PROJECT_FILES = (
    "Pulumi.yaml",
    "__main__.py",
    "coder_platform",
    "components",
    "wiring",
    "stacks",
    "policy",
    "templates",
)
# The loopback stacks publish the offline template from here (seeding.templatesDirectory).
WITH_LOCAL_TEMPLATES = (*PROJECT_FILES, "localplatform/templates")


def copy_files(destination: Path, names: tuple[str, ...] = PROJECT_FILES) -> None:
    """Copy these project files and folders (no virtualenvs, no bytecode) and link the pack's
    virtualenv (building it again would take minutes and change nothing)."""
    for name in names:
        source, target = ROOT / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        else:
            shutil.copy2(source, target)
    (destination / "policy" / ".venv").symlink_to(ROOT / "policy" / ".venv")


def edit_stack_config(stack_file: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``edit`` to a copied stack file's ``config`` map and write it back."""
    stack = yaml.safe_load(stack_file.read_text())
    edit(stack["config"])
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))


def point_stack_at(stack_file: Path, coder_url: str, vault_address: str) -> None:
    """A copied stack's ``vault.address``, and ``coder.url`` where it seeds the instance's host
    Coder (``coder.deploy: false``), set to an instance of its own (free ports, not the default
    instance's fixed ones). A stack that deploys Coder (the node stack's chart) keeps its
    ``coder.accessUrl``: that Coder answers at the node's NodePort, not at the host Coder's
    port, and ``coder.url`` means nothing there."""

    def point(config: dict[str, Any]) -> None:
        coder = config.get(f"{PROJECT}:coder")
        if coder is not None and coder.get("deploy", True) is False:
            coder["url"] = coder_url
        config.setdefault(f"{PROJECT}:vault", {})["address"] = vault_address

    edit_stack_config(stack_file, point)
