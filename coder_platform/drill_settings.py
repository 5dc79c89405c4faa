"""What the restore drill's CronJob tells the drill: one typed model, one env variable a field.

``components/restore_drill.py`` writes these variables into the CronJob's pod and
``automation/drill`` reads them back, so the two sides share one list of names. Nothing here is
secret: the scratch cluster's password is generated inside the drill and never leaves it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coder_platform.contracts import DNS_LABEL, DRILL_ENV_PREFIX, PUSHGATEWAY_ENV

# How long the drill waits for its scratch Cluster to be gone after a delete; the CronJob's
# deadline leaves room for two (leftovers first, then its own).
CLEANUP_SECONDS = 600.0


class DrillSettingsError(ValueError):
    """A drill pod started with missing or malformed settings; names the variables to fix."""


class DrillSettings(BaseModel):
    """Where the scratch cluster goes, what it restores from, and what counts as restored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stack: str = Field(min_length=1)
    namespace: str = Field(pattern=DNS_LABEL, description="the scratch namespace")
    cluster_name: str = Field(pattern=DNS_LABEL, description="the scratch Cluster")
    source_namespace: str = Field(pattern=DNS_LABEL)
    source_cluster: str = Field(pattern=DNS_LABEL, description="the database the drill proves")
    source_server_name: str = Field(
        pattern=DNS_LABEL, description="the archive restored from: the current generation's"
    )
    object_store: str = Field(
        pattern=DNS_LABEL,
        description="the scratch namespace's ObjectStore (same destination)",
    )
    image: str = Field(min_length=1, description="the PostgreSQL operand image of the source")
    database: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    storage_size: str = Field(min_length=1)
    storage_class_name: str | None = None
    deadline_seconds: int = Field(ge=60)
    min_users: int = Field(ge=0)
    min_templates: int = Field(ge=0)
    identity_client_id: str | None = Field(
        None, description="the scratch cluster's Azure identity (read-only on the archive)"
    )
    check_workload_identity: bool = Field(
        False, description="fail unless the source's backup sidecar got its federated token"
    )
    pushgateway: str | None = None

    @classmethod
    def env_name(cls, field: str) -> str:
        return PUSHGATEWAY_ENV if field == "pushgateway" else DRILL_ENV_PREFIX + field.upper()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DrillSettings:
        values = {
            field: environ[cls.env_name(field)]
            for field in cls.model_fields
            if environ.get(cls.env_name(field))
        }
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            names = sorted({cls.env_name(str(e["loc"][0])) for e in error.errors() if e["loc"]})
            raise DrillSettingsError(
                f"the restore drill's settings are missing or invalid: {', '.join(names)} "
                "(the RestoreDrill component sets them; redeploy the stack)"
            ) from None

    def to_environ(self) -> dict[str, str]:
        """Every set field as its variable (booleans as true/false)."""
        environ: dict[str, str] = {}
        for field, value in self.model_dump().items():
            if value is None:
                continue
            environ[self.env_name(field)] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return environ
