"""What verify expects to find in Coder, read from the stack's state."""

from __future__ import annotations

from automation.observe.coder_checks import ExpectedTemplate, expected_templates
from coder_platform.contracts import CODER_TEMPLATE_TYPE


def state_of(*resources: dict[str, object]) -> dict[str, object]:
    return {"deployment": {"resources": list(resources)}}


def test_seeded_templates_are_expected_at_the_version_they_built() -> None:
    state = state_of(
        {
            "type": CODER_TEMPLATE_TYPE,
            "urn": "urn:pulumi:dev::coder-platform::t::coder-seed-template-k8s",
            "outputs": {"name": "k8s", "version_id": "ver-1", "active_version_id": "ver-1"},
        },
        {
            "type": CODER_TEMPLATE_TYPE,
            "urn": "urn:pulumi:dev::coder-platform::t::coder-seed-template-new",
            "outputs": {"name": "new"},
        },
        {"type": "kubernetes:core/v1:Namespace", "outputs": {"name": "coder"}},
    )
    assert expected_templates(state) == [
        ExpectedTemplate("k8s", "ver-1"),
        ExpectedTemplate("new", None),
    ]
