"""Load the gatekeeper-style samples beside each rule: ``policy/rules/<rule>/samples/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testbed.policy_engine import Resource

RULES = Path(__file__).resolve().parents[2] / "policy" / "rules"


@dataclass(frozen=True)
class Sample:
    policy: str
    file: str
    allowed: bool
    resources: list[Resource]
    config: dict[str, Any] = field(default_factory=dict)
    violations: int | None = None
    mentions: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.policy}/{self.file}"

    @property
    def pack_config(self) -> dict[str, Any]:
        return {self.policy: dict(self.config)}


def load(path: Path) -> Sample:
    document = yaml.safe_load(path.read_text())
    expect = document.get("expect") or {}
    return Sample(
        policy=path.parent.parent.name.replace("_", "-"),
        file=path.name,
        allowed=path.name.startswith("example_allowed"),
        resources=[
            Resource(
                item["type"],
                item["name"],
                item.get("props") or {},
                item.get("parent"),
                tuple(item.get("secretOutputs") or ()),
            )
            for item in document["resources"]
        ],
        config=document.get("config") or {},
        violations=expect.get("violations"),
        mentions=list(expect.get("mentions") or []),
    )


def all_samples() -> list[Sample]:
    return [load(path) for path in sorted(RULES.glob("*/samples/example_*.yaml"))]
