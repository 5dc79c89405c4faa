"""The repo's stacks as the pack sees them: what the real program registers under mocks."""

from __future__ import annotations

from typing import Any

from testbed.harness import load_stack_file, run_program
from testbed.policy_engine import Resource


def stack_resources(stack: str, config: dict[str, Any] | None = None) -> list[Resource]:
    """Whatever ``__main__.py`` registers today or tomorrow: no resource kind is assumed."""
    mocks = run_program(config if config is not None else load_stack_file(stack), stack=stack)
    return [
        Resource(r.type, r.name, r.inputs, secret_outputs=tuple(r.secret_outputs))
        for r in mocks.resources
    ]
