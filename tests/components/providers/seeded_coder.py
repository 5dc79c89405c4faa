"""What the CoderUser, CoderGroup and CoderLicense tests share: a Coder double with its first
user (the automation identity), the automation token, and request accounting."""

from __future__ import annotations

from typing import Any

import pulumi.dynamic as dyn

from coder_platform.coder_api import CoderClient
from components.providers.common import ClientFactory
from testbed.coder_double import BASE_URL, CoderDouble, FakeClock

EMAIL = "automation@coder-platform.test"
USERNAME = "coder-automation"
PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"


def seeded_double(*, oidc_configured: bool = True) -> CoderDouble:
    """A Coder whose first user is the automation identity (OIDC configured unless asked)."""
    coder = CoderDouble(oidc_configured=oidc_configured)
    create_first_user(coder)
    return coder


def create_first_user(double: CoderDouble) -> None:
    """What CoderFirstUser does, on a fresh Coder or after a reset."""
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.create_first_user(EMAIL, USERNAME, "Coder Automation", PASSWORD)


def mint_token(double: CoderDouble, name: str) -> str:
    """An API token of the automation identity (what CoderApiToken mints)."""
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.authenticate(client.login(EMAIL, PASSWORD))
        token = client.create_token(USERNAME, name, 24 * 3600)
        client.logout()
    return token


def revoke(double: CoderDouble, token: str) -> None:
    """What a rotation does to the token a resource still holds in state."""
    del double.keys[token.split("-", maxsplit=1)[0]]


def client_factory(double: CoderDouble) -> ClientFactory:
    return lambda url: CoderClient(url, transport=double.transport(), clock=FakeClock())


def writes_since(double: CoderDouble, start: int) -> list[tuple[str, str]]:
    return [request for request in double.requests[start:] if request[0] != "GET"]


def created(provider: dyn.ResourceProvider, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A provider's create, with its id and outputs (which every create must return)."""
    result = provider.create(props)
    assert result.outs is not None
    return result.id, result.outs


def read_outs(provider: dyn.ResourceProvider, id_: str, outs: dict[str, Any]) -> dict[str, Any]:
    """A provider's read of a resource that still exists: the same id, and its outputs."""
    result = provider.read(id_, outs)
    assert result.id == id_ and result.outs is not None
    return result.outs
