"""Every policy against its allowed and disallowed samples, mechanically (gatekeeper-library style).

A disallowed sample must be reported, and each message must name the resource, cite the clause and
say what to change ("Fix:"); an allowed sample must pass untouched.
"""

from __future__ import annotations

import pytest

from policy.pack import POLICIES
from testbed.policy_engine import policy_named, run_policy
from tests.policy.sample_files import Sample, all_samples
from tests.policy.spec import RULES

SAMPLES = all_samples()
ALLOWED = [sample for sample in SAMPLES if sample.allowed]
DISALLOWED = [sample for sample in SAMPLES if not sample.allowed]


def test_every_policy_has_allowed_and_disallowed_samples_when_the_pack_is_listed() -> None:
    for policy in POLICIES:
        kinds = {sample.allowed for sample in SAMPLES if sample.policy == policy.name}
        assert kinds == {True, False}, f"{policy.name} needs allowed and disallowed samples"
    assert {sample.policy for sample in SAMPLES} <= {policy.name for policy in POLICIES}


@pytest.mark.parametrize("sample", ALLOWED, ids=lambda sample: sample.id)
def test_policy_reports_nothing_when_the_sample_is_allowed(sample: Sample) -> None:
    violations = run_policy(
        policy_named(sample.policy), sample.resources, "dev", sample.pack_config
    )
    assert [violation.message for violation in violations] == []


@pytest.mark.parametrize("sample", DISALLOWED, ids=lambda sample: sample.id)
def test_policy_names_resource_clause_and_fix_when_the_sample_is_disallowed(
    sample: Sample,
) -> None:
    violations = run_policy(
        policy_named(sample.policy), sample.resources, "dev", sample.pack_config
    )
    messages = [violation.message for violation in violations]
    assert messages, "a disallowed sample must be reported"
    if sample.violations is not None:
        assert len(messages) == sample.violations, messages
    names = {resource.name for resource in sample.resources}
    for violation in violations:
        assert any(f'"{name}"' in violation.message for name in names), violation.message
        assert violation.urn.split("::")[-1] in names, "the violation points at the resource"
        assert "Fix: " in violation.message
        for clause in RULES[sample.policy].clauses:
            assert clause in violation.message.rsplit("[seeding contract ", 1)[-1]
    for mention in sample.mentions:
        assert any(mention in message for message in messages), (mention, messages)
