"""The ``reconciler`` section: the in-cluster schedule that runs ``reconcile`` (contract P1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, field_validator

from coder_platform.config.base import UUID, ConfigModel
from coder_platform.contracts import DNS_LABEL, is_pinned_image
from coder_platform.run_limits import TEMPLATE_IMPORT_DEADLINE_SECONDS


class SecretKeyRefConfig(ConfigModel):
    """A key of a Kubernetes Secret created outside the stack: never a literal value."""

    name: str = Field(pattern=DNS_LABEL, max_length=253)
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]+$")


class OperatorSourceConfig(ConfigModel):
    """Where the Pulumi Kubernetes Operator fetches this program (mode: operator)."""

    repo_url: HttpUrl = Field(description="the program's git repository (https)")
    branch: str = Field("main", min_length=1)
    repo_dir: str = Field("", description="the program's directory inside the repository")


class ReconcilerConfig(ConfigModel):
    """The in-cluster schedule that runs ``reconcile`` for this stack (contract P1)."""

    enabled: bool = Field(True, description="deploy the scheduled reconciler for this stack")
    mode: Literal["cronjob", "operator"] = Field(
        "cronjob",
        description="cronjob (default) or operator (a Pulumi Kubernetes Operator Stack)",
    )
    namespace: str = Field("coder-reconciler", pattern=DNS_LABEL, max_length=63)
    interval_minutes: int = Field(
        30, ge=5, le=1440, description="minutes between runs, from 5 to 1440"
    )
    image: str = Field(
        description="the runner image, pinned by version tag or digest (never latest)",
        pattern=r"^[^\s@]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
    )
    active_deadline_seconds: int = Field(
        1500,
        le=86400,
        description="seconds a run may take before Kubernetes stops it: at least the longest "
        f"deadline inside a run (a template import may take {TEMPLATE_IMPORT_DEADLINE_SECONDS} s)",
    )
    backend_url: str | None = Field(
        None,
        pattern=r"^(azblob|s3|gs|file|https)://\S+$",
        description="the Pulumi state backend the in-cluster run uses (e.g. azblob://state)",
    )
    secrets_provider: str | None = Field(
        None,
        pattern=r"^(azurekeyvault|awskms|gcpkms|hashivault|passphrase)(://\S*)?$",
        description="the Pulumi secrets provider (e.g. azurekeyvault://<vault>.vault.azure.net/keys/<key>)",
    )
    workload_identity_client_id: str | None = Field(
        None, pattern=UUID, description="client id of the runner's Azure identity"
    )
    passphrase_secret: SecretKeyRefConfig | None = Field(
        None, description="the passphrase's Secret and key, for a passphrase secrets provider"
    )
    operator: OperatorSourceConfig | None = Field(
        None, description="the program's repository, for mode: operator"
    )
    coder_internal_url: HttpUrl | None = Field(
        None, description="Coder's in-cluster URL for the runner's checks (default: accessUrl)"
    )
    extra_env: dict[str, str] = Field(
        default_factory=dict,
        description="non-secret environment for the run, e.g. ARM_USE_OIDC=true",
    )
    env_from_secret: str | None = Field(
        None,
        pattern=DNS_LABEL,
        max_length=253,
        description="loopback only: a Secret created outside the stack whose keys become the "
        "run's environment (a local node's storage account for the state backend)",
    )
    host_network: bool = Field(
        False,
        description="loopback only: the run shares its node's network, to reach the platform's "
        "host processes (Coder, OpenBao) at the 127.0.0.1 addresses the host's runs use",
    )
    suspend: bool = Field(
        False,
        description="loopback only: no scheduled runs; a Job is created from the CronJob by hand",
    )

    @field_validator("active_deadline_seconds")
    @classmethod
    def _outlasts_every_internal_deadline(cls, value: int) -> int:
        if value < TEMPLATE_IMPORT_DEADLINE_SECONDS:
            raise ValueError(
                f"must be at least {TEMPLATE_IMPORT_DEADLINE_SECONDS} seconds, the longest "
                "deadline inside a run (waiting for a template import): a shorter Job deadline "
                "kills runs that are working as designed"
            )
        return value

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, value: str) -> str:
        if not is_pinned_image(value):
            raise ValueError("the image must be pinned by a version tag or digest, not latest")
        return value
