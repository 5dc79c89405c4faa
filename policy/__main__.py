"""Serve the ``seeding-contract`` pack. ``PolicyPack(...)`` starts the analyzer and never returns:
nothing else belongs here, and tests import ``pack.py``, never this file.

The analyzer runs this file with the pack directory itself (not its parent) on ``sys.path``, and
an installed pack's directory is not named ``policy``; so the directory is loaded as the package
``seeding_contract``, which lets the rules' relative imports work wherever the pack lives.
"""

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from pulumi_policy import EnforcementLevel, PolicyPack

PACKAGE = "seeding_contract"


def load_rules() -> ModuleType:
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        PACKAGE, here / "__init__.py", submodule_search_locations=[str(here)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the policy package from {here}")
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.pack")


rules = load_rules()
PolicyPack(
    name=rules.PACK_NAME,
    policies=rules.POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description=rules.DESCRIPTION,
)
