"""The Pulumi SDK internals the dynamic providers depend on, in one place.

The public ``pulumi.dynamic`` API does not expose these, yet a provider needs them: the key
under which the engine passes the pickled provider along with the inputs, the sentinel for a
value that is unknown during preview, and the unwrapping of a secret the engine may still hand
over wrapped. If an SDK upgrade moves any of them, this module is the only one to change (the
provider tests fail first).

One SDK fault is worked around here too. ``pulumi.dynamic.dynamic.serialize_provider`` (3.272)
swaps ``pickle._Pickler._batch_setitems`` for a sorting wrapper of whatever is there on every
call, and never puts the original back: each dynamic resource nests one more wrapper, and a
program with a few hundred dynamic resources (100 templates and 100 users are close) fails with
``RecursionError`` while pickling a provider. ``serialize_provider`` is wrapped so the original
method is back after each call; the pickles are byte-for-byte what the SDK writes.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pulumi.dynamic.dynamic as pulumi_dynamic
from pulumi.dynamic.dynamic import PROVIDER_KEY
from pulumi.runtime.rpc import UNKNOWN, unwrap_rpc_secret

__all__ = ["PROVIDER_KEY", "UNKNOWN", "serialize_provider", "unwrap_rpc_secret"]

_PICKLER: Any = pickle._Pickler
_ORIGINAL_BATCH_SETITEMS = _PICKLER._batch_setitems
_sdk_serialize: Callable[[Any], str] = pulumi_dynamic.serialize_provider


def serialize_provider(provider: Any) -> str:
    """The SDK's serializer, leaving ``pickle`` as it found it."""
    try:
        return _sdk_serialize(provider)
    finally:
        _PICKLER._batch_setitems = _ORIGINAL_BATCH_SETITEMS


if getattr(pulumi_dynamic.serialize_provider, "__module__", "") != __name__:
    # ``dyn.Resource.__init__`` looks the serializer up in its module at call time.
    pulumi_dynamic.serialize_provider = serialize_provider
