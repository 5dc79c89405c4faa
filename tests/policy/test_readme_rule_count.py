"""The README's count of policy rules comes from the pack, not from memory.

It said "fifteen" while the pack held 13: a count typed by hand drifts the day a rule is
added or merged. This test reads the number next to ``policy/rules/`` in the README.
"""

from __future__ import annotations

import re

from policy.pack import POLICIES, rule_folders
from testbed.harness import ROOT


def test_readme_states_the_number_of_rules_when_the_pack_is_loaded() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"(\d+) rules, one folder each under `policy/rules/`", readme)
    assert stated is not None, "README: say '<N> rules, one folder each under `policy/rules/`'"
    assert int(stated.group(1)) == len(rule_folders()) == len(POLICIES)
