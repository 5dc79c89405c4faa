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


@dataclass(frozen=True)
class PlatformBinaries:
    coder: Path
    coder_version: str
    terraform: Path
    tf_cli_config_file: Path
    bao: Path
    postgres_bin: Path

    @classmethod
    def installed(cls, root: Path = ROOT) -> PlatformBinaries:
        out = subprocess.run(
            [str(root / "scripts" / "install-platform"), "--print-json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise PartError(
                f"the platform's servers are not installed: {out.stderr.strip()} "
                "(scripts/install-platform builds them; cold, about 20 minutes)"
            )
        paths = json.loads(out.stdout)
        return cls(
            coder=Path(paths["coder"]),
            coder_version=paths["coder_version"],
            terraform=Path(paths["terraform"]),
            tf_cli_config_file=Path(paths["tf_cli_config_file"]),
            bao=Path(paths["bao"]),
            postgres_bin=Path(paths["postgres_bin"]),
        )
