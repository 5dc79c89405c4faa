"""Build the observe phase's dependencies from the validated stack config (the real ones).

- Kubernetes: the in-cluster API or the kubeconfig context (``kubernetes:context`` if the stack
  sets one); a hard dependency, since every resource goes through it.
- Vault: ``vault.address`` when ``vault.enabled``; a hard dependency (the program reads its
  inputs there, C5). In-cluster, with no ``VAULT_TOKEN``, the runner logs in with its service
  account through the reconciler role and hands the token to the engine.
- Coder: ``CODER_PLATFORM_CODER_URL`` (e.g. the in-cluster Service) or else ``coder.accessUrl``;
  a *soft* dependency, because this stack deploys Coder and a run must be able to recreate it.
  Absent sections are skipped and reported as skipped.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from automation.errors import ConfigInvalidError
from automation.observe.coder_checks import ClientCoderSite, CoderSite
from automation.observe.kube_endpoint import SERVICE_ACCOUNT_DIR, discover
from automation.observe.probes import (
    FailedProbe,
    HttpProbe,
    Probe,
    SkippedProbe,
    kubernetes_verdict,
    vault_verdict,
)
from automation.observe.vault_access import PublishedTokenReader, kubernetes_login
from automation.session import Session
from coder_platform.config import PlatformConfig
from coder_platform.contracts import CODER_URL_ENV, VAULT_ROLE_ENV
from coder_platform.redaction import Redactor
from coder_platform.vault_inputs import HvacKvReader, KvReader, VaultInputError, secret_values


@dataclass(frozen=True)
class Dependencies:
    probes: Sequence[Probe]
    coder: CoderSite | None
    coder_skip_reason: str = ""


DependencyFactory = Callable[[Session, PlatformConfig], Dependencies]


def real_dependencies(
    session: Session, config: PlatformConfig, environ: Mapping[str, str] | None = None
) -> Dependencies:
    env = os.environ if environ is None else environ
    context = session.engine.config().get("kubernetes:context")
    endpoint = discover(env, context.value if context else None)
    kubernetes: Probe = (
        HttpProbe(
            "kubernetes", f"{endpoint.server}/version", kubernetes_verdict, verify=endpoint.verify
        )
        if endpoint
        else FailedProbe("kubernetes", "no in-cluster service account and no kubeconfig found")
    )
    vault_token: str | None = None
    if config.operators_scope:
        vault: Probe = SkippedProbe("vault", "an operators-scope stack reads nothing from Vault")
    elif config.vault.enabled and config.vault.address is not None:
        address = str(config.vault.address).rstrip("/")
        vault = HttpProbe(
            "vault", f"{address}/v1/sys/health?standbyok=true&perfstandbyok=true", vault_verdict
        )
        vault_token = _vault_token(session, config, address, env)
        remember_vault_inputs(session.redactor, config, HvacKvReader(address, vault_token))
    else:
        vault = SkippedProbe("vault", "vault.enabled is false for this stack")
    coder, reason = _coder_site(session, config, env, vault_token)
    return Dependencies(probes=(kubernetes, vault), coder=coder, coder_skip_reason=reason)


def remember_vault_inputs(redactor: Redactor, config: PlatformConfig, reader: KvReader) -> None:
    """Register every secret the program will read from Vault (the bootstrap password, the
    OIDC client secret, the license, user passwords) with the run's redactor (C2)."""
    # Unreachable or denied: the probe and the program report it, naming the path.
    with contextlib.suppress(VaultInputError):
        redactor.add(*secret_values(config.vault, config.seeding, reader, config.database.backup))


def _vault_token(
    session: Session, config: PlatformConfig, address: str, env: Mapping[str, str]
) -> str:
    token = env.get("VAULT_TOKEN")
    if token:
        return token
    jwt = SERVICE_ACCOUNT_DIR / "token"
    if not Path(jwt).exists():
        raise ConfigInvalidError(
            "VAULT_TOKEN is not set and there is no service account token to log in with",
            "Export VAULT_TOKEN (a token whose policy reads the bootstrap paths), or run "
            "in-cluster as the reconciler's service account",
        )
    role = env.get(VAULT_ROLE_ENV) or config.vault.reconciler_role
    token = kubernetes_login(address, role, config.vault.kubernetes_auth_path, jwt)
    session.redactor.add(token)
    # The CLI and the dynamic providers it starts get it through the engine; the program runs
    # inline, in this process (automation.engine.pulumi_engine), and reads it from this
    # process's environment (coder_platform.vault_inputs), which set_env does not reach: without
    # this, an in-cluster preview stopped at "VAULT_TOKEN is not set" (seen on the node).
    session.engine.set_env("VAULT_TOKEN", token)
    os.environ["VAULT_TOKEN"] = token
    session.report.notes.append(f"logged in to Vault with Kubernetes auth role {role}")
    return token


def _coder_site(
    session: Session, config: PlatformConfig, env: Mapping[str, str], vault_token: str | None
) -> tuple[CoderSite | None, str]:
    if config.coder is None or not config.coder.enabled:
        return None, "Coder is off in this stack's config"
    url = env.get(CODER_URL_ENV) or config.coder.seed_url
    if vault_token is None or config.vault.address is None:
        return ClientCoderSite(url, None, None), ""
    reader = PublishedTokenReader(
        str(config.vault.address).rstrip("/"),
        vault_token,
        config.vault.kv_mount,
        config.vault.cli_token_path,
    )

    def published() -> str | None:
        value = reader()
        session.redactor.add(value)
        return value

    source = f"vault:{config.vault.kv_mount}/{config.vault.cli_token_path}"
    return ClientCoderSite(url, published, source), ""
