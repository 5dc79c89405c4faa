"""A real Coder server on loopback, on the local PostgreSQL, with OpenTofu as its Terraform.

Coder's built-in provisioners run ``terraform`` from PATH when ``terraform version -json`` is in
Coder's supported range, else they try to download one (which fails offline): OpenTofu is put
first on Coder's PATH under that name. Terraform inherits Coder's environment, so
``TF_CLI_CONFIG_FILE`` makes every template import install providers from the local mirror only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from coder_platform.contracts import OIDC_USER_ROLE_FIELD_ENV
from localplatform.binaries import PlatformBinaries
from localplatform.daemon import Daemon
from localplatform.license import LicenseSigner
from localplatform.locations import coder_url
from localplatform.openbao import OidcClient

# The automation token's lifetime must fit under this (seeding.tokenLifetimeHours, checked
# against coder.maxAdminTokenLifetime in the stack config).
MAX_ADMIN_TOKEN_LIFETIME = "720h"
# Offline: no telemetry, no update check, no public STUN servers to reach. The chart's Coder on
# the node runs with the same (its image's environment, localplatform.images.catalog.coder).
OFFLINE_ENVIRONMENT = {
    "CODER_TELEMETRY_ENABLE": "false",
    "CODER_UPDATE_CHECK": "false",
    "CODER_DERP_SERVER_STUN_ADDRESSES": "disable",
}


@dataclass(frozen=True)
class LocalCoder:
    directory: Path
    binaries: PlatformBinaries
    port: int
    # The platform's license key: the build's entry point trusts its public half (the license
    # the stack seeds is signed with it). None: Coder trusts only its own keys.
    license_signer: LicenseSigner | None = None
    # The OIDC claim Coder's site role sync reads (CODER_OIDC_USER_ROLE_FIELD); with the
    # license, Coder then refuses to set OIDC users' site roles. "": role sync off (the default).
    oidc_user_role_field: str = ""

    @property
    def daemon(self) -> Daemon:
        return Daemon("coder", self.directory)

    @property
    def url(self) -> str:
        return coder_url(self.port)

    def ready(self) -> bool:
        """Coder answers GET /buildinfo (one try: the daemon's start loop is the retry)."""
        from coder_platform.coder_api import CoderApiError, CoderClient  # heavy: only to start

        try:
            with CoderClient(self.url, timeout=3, max_attempts=1) as coder:
                coder.build_info()
        except CoderApiError:
            return False
        return True

    def has_first_user(self) -> bool:
        """False while Coder shows /setup (GET /users/first answers 404)."""
        from coder_platform.coder_api import CoderClient

        with CoderClient(self.url, timeout=5) as coder:
            return coder.has_first_user()

    def environment(self, postgres_url: str, oidc: OidcClient | None) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CODER_", "TF_", "VAULT_", "KUBECONFIG"))
        }
        env = {
            **inherited,
            "PATH": f"{self.binaries.terraform.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "TF_CLI_CONFIG_FILE": str(self.binaries.tf_cli_config_file),
            "CODER_HTTP_ADDRESS": f"127.0.0.1:{self.port}",
            "CODER_ACCESS_URL": self.url,
            "CODER_PG_CONNECTION_URL": postgres_url,
            **OFFLINE_ENVIRONMENT,
            "CODER_CACHE_DIRECTORY": str(self.directory / "cache"),
            "CODER_CONFIG_DIR": str(self.directory / "config"),
            "CODER_MAX_ADMIN_TOKEN_LIFETIME": MAX_ADMIN_TOKEN_LIFETIME,
        }
        if oidc is not None:
            env |= {
                "CODER_OIDC_ISSUER_URL": oidc.issuer_url,
                "CODER_OIDC_CLIENT_ID": oidc.client_id,
                "CODER_OIDC_CLIENT_SECRET": oidc.client_secret,
                "CODER_OIDC_SIGN_IN_TEXT": "Sign in with OpenBao",
            }
            if self.oidc_user_role_field:
                env[OIDC_USER_ROLE_FIELD_ENV] = self.oidc_user_role_field
        if self.license_signer is not None:
            env |= self.license_signer.coder_environment()
        return env

    def start(self, postgres_url: str, oidc: OidcClient | None) -> None:
        if self.daemon.pid() is None:
            self.daemon.start(
                [str(self.binaries.coder), "server"], env=self.environment(postgres_url, oidc)
            )
        # The first start runs every database migration: allow it time on a busy machine.
        self.daemon.wait_until(self.ready, "answering /api/v2/buildinfo", 300)

    def stop(self) -> bool:
        return self.daemon.stop(seconds=60)
