"""Rules between the observability sections and the rest of the stack; each names the key.

Kept apart from ``observability.py`` (the sections' models) so that a section never imports the
root schema: ``schema`` imports the sections, these rules import ``schema``.
"""

from __future__ import annotations

from collections.abc import Iterator

from coder_platform.config.issues import ConfigIssue
from coder_platform.config.schema import PlatformConfig


def observability_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """Rules that span these sections and the rest of the stack; each names the key to change."""
    drill = config.restore_drill
    if not drill.enabled:
        return
    others = config.namespaces
    if drill.namespace in (others.database, others.coder, others.operators):
        yield ConfigIssue(
            "restoreDrill.namespace",
            "must be a scratch namespace of its own, not the database, Coder or operators "
            "namespace: the drill deletes the cluster it creates there",
        )
    if drill.image is None and config.reconciler is None:
        yield ConfigIssue(
            "restoreDrill.image",
            "is required when there is no reconciler section to take the runner image from",
        )
    if config.managed and config.observability.pushgateway_url is None:
        yield ConfigIssue(
            "observability.pushgatewayUrl",
            "is required in dev/prod when restoreDrill.enabled is true: the drill's RTO and RPO "
            "must reach Prometheus, or its alerts only ever say 'missing'",
        )
    if config.managed and not config.observability.enabled:
        yield ConfigIssue(
            "observability.enabled",
            "must be true in dev/prod when restoreDrill.enabled is true: a drill nobody is "
            "alerted about proves nothing",
        )
