"""How a configuration problem is reported: the full key, what is allowed, never the value."""

from __future__ import annotations

from dataclasses import dataclass

from coder_platform.contracts import PROJECT


@dataclass(frozen=True)
class ConfigIssue:
    """One problem with one key; ``message`` never contains the configured value."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{PROJECT}:{self.key}: {self.message}"


class ConfigError(Exception):
    """The stack configuration is invalid; nothing was deployed."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(
            f"invalid stack configuration ({len(issues)} problem"
            f"{'s' if len(issues) != 1 else ''}); nothing was deployed:\n{lines}\n"
            f"Fix the keys above in stacks/Pulumi.<stack>.yaml "
            f"(pulumi config set --path '{PROJECT}:<key>' <value>)."
        )
