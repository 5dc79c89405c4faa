"""One ComponentResource per concern, each configured from the typed stack config.

Dynamic providers live in ``components.providers``. Pulumi pickles a dynamic provider into
state by reference to its module, so resources created before the providers moved still name
``components.coder_first_user`` and friends; those names stay importable here as aliases of the
new modules, or such a stack could no longer refresh or delete them.
"""

from __future__ import annotations

import importlib
import sys

# Where each provider module lived when state may have been written; keep every entry.
MOVED_PROVIDER_MODULES = {
    "components.coder_first_user": "components.providers.coder_first_user",
    "components.coder_token": "components.providers.coder_token",
    "components.generated_password": "components.providers.generated_password",
}

for _old, _new in MOVED_PROVIDER_MODULES.items():
    sys.modules.setdefault(_old, importlib.import_module(_new))
