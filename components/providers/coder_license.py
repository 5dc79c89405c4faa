"""CoderLicense: the deployment's Coder license, shaped like coderd's ``coderd_license``
(``license`` in, ``expires_at`` out).

Why it exists: licenses live in Coder's database, so the incident's reset dropped the license
with everything else, and with it the Premium features groups need. The JWT comes from the
secrets store and is added through ``POST /licenses``; ``read`` reports the license gone when
``GET /licenses`` no longer lists it, so the same run adds it again, before users and groups.

Coder returns a license's claims but never its JWT (a signed license is a bearer credential),
and keeps each JWT once (a second ``POST`` of the same JWT fails). So ``create`` first looks for
a listed license whose claims are this JWT's (decoded locally, unverified, as Coder decodes
them for ``GET /licenses``) and adopts it instead of adding it again. A new JWT replaces the
resource: the new license is added before the old one is removed, so entitlements never lapse.

Contract clauses served: C1 (``check`` names the field, never the value), C2 (``read`` is one
GET and ``diff`` calls nothing; the token never counts as a change; a license already present
is adopted; a missing one on delete is success), C3 (gone after a reset, re-added), and the JWT
never appears in a message or a log line.

The provider is pickled into state: it holds no client, logger or clock; each method builds its
``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import License
from coder_platform.coder_api.people import license_claims
from components.providers.common import (
    TokenAuthenticatedProvider,
    connection_failures,
    declared_changes,
    gone,
    inputs_of,
    is_known,
    raise_on_failures,
    read_with_current_token,
)

LOGGER_NAME = "coder_platform.coder_license"
REPLACING_INPUTS = ("license",)  # another JWT is another license
UPDATING_INPUTS = ("url",)  # recorded; no Coder write
# Never compared: the token (a rotation is not a change).


@dataclass(frozen=True)
class CoderLicenseArgs:
    url: pulumi.Input[str]
    token: pulumi.Input[str]
    license: pulumi.Input[str]  # the license JWT, from the secrets store


def license_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    """C1: the connection and the JWT's shape; the message never shows the value."""
    failures = connection_failures(props)
    value = props.get("license")
    if is_known(value) and not (isinstance(value, str) and license_claims(value) is not None):
        failures.append(
            dyn.CheckFailure(
                "license",
                "license: must be a Coder license key (a JWT: three dot-separated parts with "
                "JSON claims), read from the secrets store",
            )
        )
    return failures


class CoderLicenseProvider(TokenAuthenticatedProvider):
    """CRUD for one license; see the module docstring for the contract it keeps."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, license_failures(inputs_of(news)))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        """Adopt a listed license with this JWT's claims, or add the JWT."""
        props = inputs_of(props)
        raise_on_failures("CoderLicense", license_failures(props))
        claims = license_claims(props["license"])
        log = logging.getLogger(LOGGER_NAME)
        with self._client(props) as client:
            found = next((lic for lic in client.list_licenses() if lic.claims == claims), None)
            if found is None:
                found = client.add_license(props["license"])
                log.info("added Coder license %d (expires %s)", found.id, _expiry(found))
            else:
                log.info("Coder license %d is already present; adopted", found.id)
        return dyn.CreateResult(str(found.id), _outs(props, found))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: one GET /licenses. Gone when the id is no longer listed (a reset drops
        licenses); the expiry is refreshed from the claims."""
        props = inputs_of(props)
        log = logging.getLogger(LOGGER_NAME)
        with self._client(props) as client:
            found = read_with_current_token(client, props, lambda c: c.list_licenses())
        if found is None:
            log.warning(
                "license %s: the token in state was refused (rotated or revoked); kept as is",
                id_,
            )
            return dyn.ReadResult(id_, props)
        licenses, props = found
        live = next((lic for lic in licenses if str(lic.id) == id_), None)
        if live is None:
            log.warning("license %s is gone from Coder (a reset?); it will be added again", id_)
            return gone()
        return dyn.ReadResult(id_, _outs(props, live))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """A new JWT replaces the license (added before the old one goes); never the token.
        No API call."""
        olds, news = inputs_of(olds), inputs_of(news)
        replaces = declared_changes(olds, news, REPLACING_INPUTS)
        updates = declared_changes(olds, news, UPDATING_INPUTS)
        return dyn.DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """Only the URL changed: record it, write nothing."""
        olds, news = inputs_of(olds), inputs_of(news)
        raise_on_failures("CoderLicense", license_failures(news))
        kept = {key: olds.get(key) for key in ("license_id", "expires_at")}
        return dyn.UpdateResult({**news, **kept})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE /licenses/{id}; already gone (404) is success (C2)."""
        props = inputs_of(props)
        with self._client(props) as client:
            deleted = client.delete_license(int(id_))
        log = logging.getLogger(LOGGER_NAME)
        log.info("removed Coder license %s" if deleted else "license %s was already gone", id_)


def _expiry(live: License) -> str:
    expires = live.expires_at
    return expires.isoformat() if expires is not None else ""


def _outs(props: Mapping[str, Any], live: License) -> dict[str, Any]:
    return {**props, "license_id": live.id, "expires_at": _expiry(live)}


class CoderLicense(dyn.Resource, module="coder", name="CoderLicense"):
    """Type token ``pulumi-python:dynamic/coder:CoderLicense``; outputs ``license_id`` and
    ``expires_at`` (ISO 8601, UTC; empty when the claims carry no ``license_expires``). The
    license and the token are kept secret."""

    license_id: pulumi.Output[int]
    expires_at: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderLicenseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "token": pulumi.Output.secret(args.token),
            "license": pulumi.Output.secret(args.license),
            "license_id": None,
            "expires_at": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token", "license"])
        super().__init__(
            CoderLicenseProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
