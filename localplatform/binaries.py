"""Where the platform's servers are: asked of ``scripts/install-platform``, their one home.

The launcher never guesses cache paths: the install script owns the layout and says what is
installed, or names what is missing and the command that installs it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from localplatform.daemon import PartError

ROOT = Path(__file__).resolve().parents[1]


def installed_paths(root: Path, script: str, missing: str, builds: str) -> dict[str, str]:
    """What ``scripts/<script> --print-json`` says is installed; a PartError naming what is not."""
    out = subprocess.run(
        [str(root / "scripts" / script), "--print-json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise PartError(
            f"{missing}: {out.stderr.strip()} (scripts/{script} {builds}; cold, about 20 minutes)"
        )
    return dict(json.loads(out.stdout))


@dataclass(frozen=True)
class PlatformBinaries:
    coder: Path
    coder_version: str
    terraform: Path
    tf_cli_config_file: Path
    bao: Path
    postgres_bin: Path
    # The filesystem mirror tf_cli_config_file names (the node's Coder image copies it); last and
    # optional so a PlatformBinaries made for the host's Coder alone need not name it.
    provider_mirror: Path | None = None

    @classmethod
    def installed(cls, root: Path = ROOT) -> PlatformBinaries:
        paths = installed_paths(
            root, "install-platform", "the platform's servers are not installed", "builds them"
        )
        return cls(
            coder=Path(paths["coder"]),
            coder_version=paths["coder_version"],
            terraform=Path(paths["terraform"]),
            tf_cli_config_file=Path(paths["tf_cli_config_file"]),
            provider_mirror=Path(paths["provider_mirror"]),
            bao=Path(paths["bao"]),
            postgres_bin=Path(paths["postgres_bin"]),
        )
