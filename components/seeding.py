"""CoderSeed: the Coder state this program owns, re-created after any reset (contract C3).

After the incident's database reset, Coder showed /setup and the only token that could
republish templates had expired. Here the first user is a dedicated automation identity
(Owners keep password login when password auth is off for everyone else, which is what lets
the automation log in), its API token is minted inside Coder's admin cap and rotated before it
expires, and the token is published to Vault KV so new workspaces can run ``coder whoami``.
The license, users, groups, templates and their access follow, in that order, each a first-party
resource shaped like the coderd Terraform provider's (which cannot be built here) and each
authenticated with the automation token: a token rotation is a credential change, never a diff
on them.
After a reset the runner drops this component's subtree from state (its credentials are dead)
and the next ``up`` re-creates all of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_vault as vault

from coder_platform.config.seeded_state import GroupConfig, UserConfig
from coder_platform.contracts import PUBLISHED_TOKEN_KEY, ComponentType
from coder_platform.template_sources import TemplateSource
from components.providers.coder_everyone_group import CoderEveryoneGroup, CoderEveryoneGroupArgs
from components.providers.coder_first_user import CoderFirstUser, CoderFirstUserArgs
from components.providers.coder_group import CoderGroup, CoderGroupArgs
from components.providers.coder_license import CoderLicense, CoderLicenseArgs
from components.providers.coder_template import CoderTemplate, CoderTemplateArgs
from components.providers.coder_template_access import (
    CoderTemplateAccess,
    CoderTemplateAccessArgs,
)
from components.providers.coder_token import CoderApiToken, CoderApiTokenArgs
from components.providers.coder_user import CoderUser, CoderUserArgs
from components.providers.vault_api import VaultKvSecret, VaultKvSecretArgs
from components.resource_options import prerequisites


@dataclass(frozen=True)
class TokenPublication:
    """Where the token goes in Vault KV v2 (None: not published, for stacks without Vault).
    Without a pulumi-vault ``provider`` it is written through Vault's HTTP API at ``address``."""

    provider: vault.Provider | None
    mount: pulumi.Input[str]
    path: str
    address: str = ""


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
    license: pulumi.Input[str] | None = None
    users: Sequence[UserConfig] = ()
    user_passwords: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    removed_users: str = "suspend"
    groups: Sequence[GroupConfig] = ()
    everyone_quota_allowance: int | None = None
    templates: Sequence[TemplateSource] = ()
    # Where the provider host reads template directories: the checkout the program runs from.
    source_root: str = "."
    retain_templates_on_delete: bool = False


class CoderSeed(pulumi.ComponentResource):
    first_user: CoderFirstUser
    token: CoderApiToken
    published_token: vault.kv.SecretV2 | VaultKvSecret | None
    license: CoderLicense | None
    users: dict[str, CoderUser]
    groups: dict[str, CoderGroup]
    everyone: CoderEveryoneGroup | None
    templates: dict[str, CoderTemplate]
    template_access: dict[str, CoderTemplateAccess]

    def __init__(
        self, name: str, args: CoderSeedArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ComponentType.SEED, name, None, opts)
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
        publication = args.publication
        if publication is not None and publication.provider is None:
            self.published_token = VaultKvSecret(
                f"{name}-published-token",
                VaultKvSecretArgs(
                    publication.address,
                    publication.mount,
                    publication.path,
                    self.token.token.apply(lambda token: {PUBLISHED_TOKEN_KEY: token}),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        elif args.publication is not None:
            self.published_token = vault.kv.SecretV2(
                f"{name}-published-token",
                mount=args.publication.mount,
                name=args.publication.path,
                data_json=pulumi.Output.json_dumps({PUBLISHED_TOKEN_KEY: self.token.token}),
                opts=pulumi.ResourceOptions(parent=self, provider=args.publication.provider),
            )
        self._seed_state(name, args)
        self.register_outputs(
            {
                "first_user_id": self.first_user.user_id,
                "templates": {n: t.template_id for n, t in self.templates.items()},
                "users": {n: u.user_id for n, u in self.users.items()},
            }
        )

    def _seed_state(self, name: str, args: CoderSeedArgs) -> None:
        """license -> users -> groups -> templates -> their access, each with the automation
        token."""
        after_token = pulumi.ResourceOptions(parent=self, depends_on=[self.token])
        self.license = None
        if args.license is not None:
            self.license = CoderLicense(
                f"{name}-license",
                CoderLicenseArgs(args.coder_url, self.token.token, args.license),
                opts=after_token,
            )
        # Entitlements (service accounts, groups) come from the license: it goes first.
        after_license = pulumi.ResourceOptions(
            parent=self, depends_on=[self.token, *([self.license] if self.license else [])]
        )
        self.users = self._seed_users(name, args, after_license)
        self.groups = self._seed_groups(
            name,
            args,
            pulumi.ResourceOptions.merge(
                after_license, pulumi.ResourceOptions(depends_on=list(self.users.values()))
            ),
        )
        self.everyone = None
        if args.everyone_quota_allowance is not None:
            self.everyone = CoderEveryoneGroup(
                f"{name}-group-everyone",
                CoderEveryoneGroupArgs(
                    args.coder_url, self.token.token, args.everyone_quota_allowance
                ),
                opts=after_license,
            )
        self.templates = self._seed_templates(
            name,
            args,
            pulumi.ResourceOptions.merge(
                after_license,
                pulumi.ResourceOptions(
                    depends_on=list(self.groups.values()),
                    retain_on_delete=args.retain_templates_on_delete,
                ),
            ),
        )
        self.template_access = self._seed_template_access(
            name,
            args,
            pulumi.ResourceOptions.merge(
                after_license,
                pulumi.ResourceOptions(depends_on=[*self.users.values(), *self.groups.values()]),
            ),
        )

    def _seed_users(
        self, name: str, args: CoderSeedArgs, opts: pulumi.ResourceOptions
    ) -> dict[str, CoderUser]:
        return {
            user.username: CoderUser(
                f"{name}-user-{user.username}",
                CoderUserArgs(
                    args.coder_url,
                    self.token.token,
                    username=user.username,
                    email=user.email,
                    name=user.name,
                    login_type=user.login_type,
                    password=args.user_passwords.get(user.username),
                    roles=None if user.roles is None else tuple(user.roles),
                    suspended=user.suspended,
                    on_delete=args.removed_users,
                ),
                opts=opts,
            )
            for user in args.users
        }

    def _seed_groups(
        self, name: str, args: CoderSeedArgs, opts: pulumi.ResourceOptions
    ) -> dict[str, CoderGroup]:
        return {
            group.name: CoderGroup(
                f"{name}-group-{group.name}",
                CoderGroupArgs(
                    args.coder_url,
                    self.token.token,
                    name=group.name,
                    display_name=group.display_name,
                    members=tuple(group.members),
                    quota_allowance=group.quota_allowance,
                ),
                opts=opts,
            )
            for group in args.groups
        }

    def _seed_templates(
        self, name: str, args: CoderSeedArgs, opts: pulumi.ResourceOptions
    ) -> dict[str, CoderTemplate]:
        return {
            source.key: CoderTemplate(
                f"{name}-template-{source.key}",
                CoderTemplateArgs(
                    args.coder_url,
                    self.token.token,
                    name=source.name,
                    directory=source.directory,
                    source_root=args.source_root,
                    directory_hash=source.content_hash,
                    display_name=source.settings.display_name,
                    description=source.settings.description,
                    icon=source.settings.icon,
                    default_ttl_ms=source.settings.default_ttl_ms,
                    activity_bump_ms=source.settings.activity_bump_ms,
                    variables=dict(source.settings.variables),
                    lifecycle=source.settings.lifecycle(),
                    disable_everyone_group_access=(
                        source.settings.access is not None
                        and source.settings.access.everyone == "none"
                    ),
                ),
                opts=opts,
            )
            for source in args.templates
        }

    def _seed_template_access(
        self, name: str, args: CoderSeedArgs, opts: pulumi.ResourceOptions
    ) -> dict[str, CoderTemplateAccess]:
        """Each template's ACL, where the stack declares one (after its template, whose id and
        organization it takes, and after the groups and users it names)."""
        accesses: dict[str, CoderTemplateAccess] = {}
        for source in args.templates:
            access = source.settings.access
            if access is None:
                continue
            template = self.templates[source.key]
            accesses[source.key] = CoderTemplateAccess(
                f"{name}-template-access-{source.key}",
                CoderTemplateAccessArgs(
                    args.coder_url,
                    self.token.token,
                    template=source.name,
                    template_id=template.template_id,
                    organization_id=template.organization_id,
                    groups=dict(access.groups),
                    users=dict(access.users),
                    everyone=access.everyone,
                ),
                opts=opts,
            )
        return accesses
