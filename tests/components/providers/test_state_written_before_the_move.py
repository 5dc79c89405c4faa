"""State written before the providers moved into ``components.providers`` still works.

Pulumi stores each dynamic resource's provider as a dill pickle that names the provider's
module. The strings below are what ``pulumi.dynamic.serialize_provider`` wrote for each provider
when they lived at ``components/<name>.py`` (commit c809555): they name the old modules. A stack
holding them must still load its providers, refresh and delete, or the next scheduled run fails.
"""

from __future__ import annotations

import base64
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import PROVIDER_KEY

from coder_platform.coder_api import CoderClient
from components.providers.coder_first_user import CoderFirstUserProvider
from components.providers.coder_token import CoderApiTokenProvider
from components.providers.generated_password import GeneratedPasswordProvider
from testbed.coder_double import BASE_URL, CoderDouble, FakeClock

# serialize_provider(<Provider>()) at commit c809555, before the move.
PICKLED_BEFORE_THE_MOVE = {
    "components.coder_first_user": (
        "gASVVAAAAAAAAACMG2NvbXBvbmVudHMuY29kZXJfZmlyc3RfdXNlcpSMFkNvZGVyRmlyc3RVc2VyUHJvdmlk"
        "ZXKUk5QpgZR9lIwPX2NsaWVudF9mYWN0b3J5lE5zYi4="
    ),
    "components.coder_token": (
        "gASVWQAAAAAAAACMFmNvbXBvbmVudHMuY29kZXJfdG9rZW6UjBVDb2RlckFwaVRva2VuUHJvdmlkZXKUk5Qp"
        "gZR9lCiMD19jbGllbnRfZmFjdG9yeZROjAZfY2xvY2uUTnViLg=="
    ),
    "components.generated_password": (
        "gASVQgAAAAAAAACMHWNvbXBvbmVudHMuZ2VuZXJhdGVkX3Bhc3N3b3JklIwZR2VuZXJhdGVkUGFzc3dvcmRQ"
        "cm92aWRlcpSTlCmBlC4="
    ),
}
EMAIL = "automation@coder-platform.test"
USERNAME = "coder-automation"
PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"


def loaded(old_module: str) -> Any:
    """What the dynamic provider host does with the ``__provider`` property of old state."""
    return dill.loads(base64.b64decode(PICKLED_BEFORE_THE_MOVE[old_module]))


def test_each_old_pickle_names_the_old_module_it_was_written_from() -> None:
    for old_module, pickled in PICKLED_BEFORE_THE_MOVE.items():
        assert old_module.encode() in base64.b64decode(pickled)


@pytest.mark.parametrize(
    ("old_module", "provider_class"),
    [
        ("components.coder_first_user", CoderFirstUserProvider),
        ("components.coder_token", CoderApiTokenProvider),
        ("components.generated_password", GeneratedPasswordProvider),
    ],
)
def test_old_state_loads_the_moved_provider_class(old_module: str, provider_class: type) -> None:
    assert type(loaded(old_module)) is provider_class


@pytest.fixture
def double() -> CoderDouble:
    return CoderDouble()


def first_user(double: CoderDouble) -> str:
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        return client.create_first_user(EMAIL, USERNAME, "Coder Automation", PASSWORD)


def bind(provider: Any, double: CoderDouble) -> Any:
    """Point an unpickled provider at the double (state carries no client, only the class)."""
    provider._client_factory = lambda url: CoderClient(
        url, transport=double.transport(), clock=FakeClock()
    )
    return provider


def test_old_first_user_state_refreshes_and_deletes_after_the_move(double: CoderDouble) -> None:
    user_id = first_user(double)
    writes_before = double.writes()
    provider = bind(loaded("components.coder_first_user"), double)
    props = {
        "url": BASE_URL,
        "email": EMAIL,
        "username": USERNAME,
        "full_name": "Coder Automation",
        "password": PASSWORD,
        "user_id": user_id,
        PROVIDER_KEY: PICKLED_BEFORE_THE_MOVE["components.coder_first_user"],
    }
    assert provider.read(user_id, props).id == user_id
    provider.delete(user_id, props)
    assert double.writes() == writes_before, "delete of the first user only forgets it"


def test_old_token_state_refreshes_and_deletes_after_the_move(double: CoderDouble) -> None:
    first_user(double)
    fresh = CoderApiTokenProvider(bind(CoderApiTokenProvider(), double)._client_factory)
    props = {
        "url": BASE_URL,
        "email": EMAIL,
        "password": PASSWORD,
        "username": USERNAME,
        "token_name": "coder-platform-runner",
        "lifetime_hours": 168.0,
        "rotation_window_hours": 24.0,
    }
    created = fresh.create(props)
    assert created.outs is not None
    old_state = {**created.outs, PROVIDER_KEY: PICKLED_BEFORE_THE_MOVE["components.coder_token"]}

    provider = bind(loaded("components.coder_token"), double)
    assert provider.read(created.id, old_state).id == created.id
    provider.delete(created.id, old_state)
    assert created.id not in double.keys
