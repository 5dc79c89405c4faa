"""One convention for what a component takes through ``opts``: ``depends_on`` and ``protect``.

Pulumi's own components take ordering and protection through ``ResourceOptions``, not their
args. A component's ``depends_on`` orders the component, not each child, so a component hands
its prerequisites on to the children that need them; ``protect`` is inherited by every child
unless the child says otherwise, so a component that protects only part of itself says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


def prerequisites(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources ``opts.depends_on`` names, as a list (it may be one resource or many)."""
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    if isinstance(depends_on, Sequence):
        return [item for item in depends_on if isinstance(item, pulumi.Resource)]
    raise TypeError("depends_on must be resources known when the program runs")


def protected(opts: pulumi.ResourceOptions | None) -> bool:
    return bool(opts is not None and opts.protect)
