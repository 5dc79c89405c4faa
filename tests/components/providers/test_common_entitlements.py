"""One Premium check for every provider (components/providers/common.py): asked of
``GET /entitlements`` once, before any write, and one message shape naming the feature, the
license key and the config that would do without it."""

from __future__ import annotations

from coder_platform.contracts import GROUPS_FEATURE, SERVICE_ACCOUNTS_FEATURE
from components.providers.common import (
    LICENSE_CONFIG_KEY,
    not_entitled_message,
    require_entitlements,
)
from testbed.coder_double import BASE_URL
from tests.components.providers.seeded_coder import client_factory, mint_token, seeded_double


class RefusedError(RuntimeError):
    pass


def _check(*features: str, entitled: tuple[str, ...] = ()) -> tuple[int, str | None]:
    """How many times /entitlements was read, and the feature refused (None: all granted)."""
    double = seeded_double()
    double.entitle(*entitled)
    refused = None
    with client_factory(double)(BASE_URL) as client:
        client.authenticate(mint_token(double, "premium"))
        start = len(double.requests)
        try:
            require_entitlements(client, features, RefusedError)
        except RefusedError as error:
            refused = str(error)
    reads = [r for r in double.requests[start:] if r == ("GET", "/entitlements")]
    return len(reads), refused


def test_nothing_is_asked_when_no_premium_feature_is_needed() -> None:
    assert _check() == (0, None)


def test_entitlements_are_read_once_when_every_feature_is_granted() -> None:
    features = (GROUPS_FEATURE, SERVICE_ACCOUNTS_FEATURE, GROUPS_FEATURE)
    assert _check(*features, entitled=features) == (1, None)


def test_the_missing_feature_is_refused_after_one_read_when_one_is_not_granted() -> None:
    features = (SERVICE_ACCOUNTS_FEATURE, GROUPS_FEATURE)
    assert _check(*features, entitled=(GROUPS_FEATURE,)) == (1, SERVICE_ACCOUNTS_FEATURE)


def test_the_refusal_names_the_resource_feature_license_key_and_the_other_fix() -> None:
    text = not_entitled_message(
        "group 'team'", "Coder cannot manage groups without", GROUPS_FEATURE, "remove it"
    )
    assert text.startswith("group 'team': Coder cannot manage groups without the Premium ")
    assert f"{GROUPS_FEATURE!r}" in text and LICENSE_CONFIG_KEY in text
    assert "or remove it. Nothing was changed." in text
