"""The Pulumi SDK internals the dynamic providers depend on, in one place.

The public ``pulumi.dynamic`` API does not expose these, yet a provider needs them: the key
under which the engine passes the pickled provider along with the inputs, the sentinel for a
value that is unknown during preview, and the unwrapping of a secret the engine may still hand
over wrapped. If an SDK upgrade moves any of them, this module is the only one to change (the
provider tests fail first).
"""

from __future__ import annotations

from pulumi.dynamic.dynamic import PROVIDER_KEY
from pulumi.runtime.rpc import UNKNOWN, unwrap_rpc_secret

__all__ = ["PROVIDER_KEY", "UNKNOWN", "unwrap_rpc_secret"]
