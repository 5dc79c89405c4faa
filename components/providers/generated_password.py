"""GeneratedPassword: a password generated once and kept, secret, in Pulumi state.

The database's app credentials must be identical across a restore into a new cluster
generation (backups carry no Secrets), so Pulumi owns them. A dynamic provider rather than
pulumi-random: its plugin is the one piece the offline toolchain cannot build, and the
embedded default stack must deploy with the project's own toolchain.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import pulumi
import pulumi.dynamic as dyn

ALPHABET = string.ascii_letters + string.digits  # URI-safe: it goes into a postgresql:// URL


def generate(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class GeneratedPasswordProvider(dyn.ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        length = news.get("length")
        if not isinstance(length, int | float) or not 16 <= int(length) <= 128:
            return dyn.CheckResult(
                news, [dyn.CheckFailure("length", "length: must be from 16 to 128")]
            )
        return dyn.CheckResult({**news, "length": int(length)}, [])

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        length = int(props["length"])
        return dyn.CreateResult(
            id_=secrets.token_hex(8), outs={"length": length, "result": generate(length)}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        changed = int(olds.get("length", 0)) != int(news["length"])
        return dyn.DiffResult(
            changes=changed, replaces=["length"] if changed else [], delete_before_replace=False
        )

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        # Nothing outside state holds it: what state has is the truth.
        return dyn.ReadResult(id_, props)


class GeneratedPassword(dyn.Resource, module="secrets", name="GeneratedPassword"):
    result: pulumi.Output[str]

    def __init__(
        self, name: str, length: int = 32, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["result"])
        super().__init__(
            GeneratedPasswordProvider(),
            name,
            {"length": length, "result": None},
            pulumi.ResourceOptions.merge(opts, secret),
        )
