"""CoderSeed: the Coder state this program owns, re-created after any reset (contract C3).

After the incident's database reset, Coder showed /setup and the only token that could
republish templates had expired. Here the first user is a dedicated automation identity
(Owners keep password login when password auth is off for everyone else, which is what lets
the automation log in), its API token is minted inside Coder's admin cap and rotated before it
expires, and the token is published to Vault KV so new workspaces can run ``coder whoami``.
After a reset the runner drops this component's subtree from state (its credentials are dead)
and the next ``up`` re-creates it. Templates, users and groups belong here too, through the
bridged ``coderd`` provider, once it can be built: the module proxy these machines use does not
serve terraform-provider-coderd at any version.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_vault as vault

from coder_platform.resource_options import prerequisites
from components.providers.coder_first_user import CoderFirstUser, CoderFirstUserArgs
from components.providers.coder_token import CoderApiToken, CoderApiTokenArgs

PUBLISHED_TOKEN_KEY = "token"  # what the runner's token check and workspaces read


@dataclass(frozen=True)
class TokenPublication:
    """Where the token goes in Vault KV v2 (None: not published, for stacks without Vault)."""

    provider: vault.Provider
    mount: pulumi.Input[str]
    path: str


@dataclass(frozen=True)
class CoderSeedArgs:
    coder_url: str
    admin_email: str
    admin_username: str
    admin_full_name: str
    admin_password: pulumi.Input[str]
    token_name: str
    token_lifetime_hours: int
    token_rotation_window_hours: int
    publication: TokenPublication | None = None


class CoderSeed(pulumi.ComponentResource):
    first_user: CoderFirstUser
    token: CoderApiToken
    published_token: vault.kv.SecretV2 | None

    def __init__(
        self, name: str, args: CoderSeedArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("coder-platform:seeding:CoderSeed", name, None, opts)
        self.first_user = CoderFirstUser(
            f"{name}-first-user",
            CoderFirstUserArgs(
                url=args.coder_url,
                email=args.admin_email,
                username=args.admin_username,
                full_name=args.admin_full_name,
                password=args.admin_password,
            ),
            # Coder must be up before /users/first can answer.
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites(opts)),
        )
        self.token = CoderApiToken(
            f"{name}-automation-token",
            CoderApiTokenArgs(
                url=args.coder_url,
                email=args.admin_email,
                password=args.admin_password,
                username=self.first_user.username,
                token_name=args.token_name,
                lifetime_hours=args.token_lifetime_hours,
                rotation_window_hours=args.token_rotation_window_hours,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.published_token = None
        if args.publication is not None:
            self.published_token = vault.kv.SecretV2(
                f"{name}-published-token",
                mount=args.publication.mount,
                name=args.publication.path,
                data_json=pulumi.Output.json_dumps({PUBLISHED_TOKEN_KEY: self.token.token}),
                opts=pulumi.ResourceOptions(parent=self, provider=args.publication.provider),
            )
        self.register_outputs({"first_user_id": self.first_user.user_id})
