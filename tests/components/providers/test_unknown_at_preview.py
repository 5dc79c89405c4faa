"""An input the real engine does not know at preview (the automation token, before the token
resource exists) is not a failed check: it arrives as ``pulumi.output.Unknown``, not as the
``UNKNOWN`` string the mocks use, and is checked again once known."""

from __future__ import annotations

from pulumi.output import UNKNOWN as OUTPUT_UNKNOWN

from components.providers.common import connection_failures, is_known
from components.providers.sdk_internals import UNKNOWN


def test_an_output_value_unknown_at_preview_is_not_known() -> None:
    assert not is_known(OUTPUT_UNKNOWN)
    assert not is_known(UNKNOWN)
    assert is_known("a-token")


def test_the_token_check_waits_when_the_token_is_unknown_at_preview() -> None:
    assert connection_failures({"url": "http://127.0.0.1:17080", "token": OUTPUT_UNKNOWN}) == []
    assert [f.property for f in connection_failures({"url": "x", "token": ""})] == [
        "url",
        "token",
    ]
