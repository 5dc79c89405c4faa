"""The stack a local platform serves, read through the program's own config model.

The launcher, the summary and the reset drill read the same ``stacks/Pulumi.<stack>.yaml`` the
program reads, with the same defaults and the same validation (``coder_platform.config``); a
stack the program would refuse is refused here too, as a ``PartError`` the CLI reports.
"""

from __future__ import annotations

from pathlib import Path

from coder_platform.config import ConfigError, PlatformConfig, StackFileError, read_stack_file
from localplatform.daemon import PartError


def read_stack(stack_file: Path) -> PlatformConfig:
    try:
        return read_stack_file(stack_file)
    except (ConfigError, StackFileError) as error:
        raise PartError(f"{stack_file.name}: {error}") from None
