"""What the numbers were measured on: printed above them so a reader can weigh them."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass


@dataclass(frozen=True)
class Machine:
    cores: int
    usable_cores: int
    load_average: tuple[float, float, float]
    python: str
    pulumi_cli: str
    platform: str

    def lines(self) -> list[str]:
        load = " ".join(f"{value:.2f}" for value in self.load_average)
        return [
            f"machine: {self.usable_cores} usable cores ({self.cores} online), "
            f"load {load} (1/5/15 min) at start",
            f"software: Python {self.python}, Pulumi CLI {self.pulumi_cli}, {self.platform}",
        ]


def describe(pulumi_cli: str) -> Machine:
    """The machine now; ``pulumi_cli`` is the toolchain's version, or why there is none."""
    return Machine(
        cores=os.cpu_count() or 0,
        usable_cores=len(os.sched_getaffinity(0)),
        load_average=os.getloadavg(),
        python=platform.python_version(),
        pulumi_cli=pulumi_cli,
        platform=platform.platform(terse=True),
    )
