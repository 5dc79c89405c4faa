"""The real ``StackEngine``: the Pulumi Automation API on the local program (repo root).

What it adds over calling ``pulumi.automation`` directly, and why:

- ``preview``/``up`` always pass ``refresh=True, run_program=True`` (a refresh alone reuses the
  credentials stored in state, dead after a Coder reset; the program supplies fresh ones;
  ``Pulumi.yaml`` also sets ``refresh: always``), and
  ``show_secrets=False`` wherever the API takes it; progress is suppressed, colour off;
- ``destroy`` skips protected resources (``exclude_protected``): the backup store and a
  protected database stay, by design (README "How the data survives");
- state is exported and imported *without* ``--show-secrets`` (the SDK's helpers decrypt), so a
  state edit never puts plaintext on disk; the file is 0600 in a private temp dir, then deleted;
- secret config and outputs go to the redactor the moment they are read (C2);
- the CLI must be 3.229+ (exit codes, and lock-free ``refresh --preview-only`` on DIY backends);
- every ``CommandError`` becomes a runner error with its exit code (``engine/errors.py``);
- engine operations run under a supervisor, so a killed runner leaves no CLI or plugin running
  and the CLI cancels (unlocks) gracefully (``cli_process.py``).
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pulumi import automation as auto
from pulumi.automation import errors as auto_errors
from semver import VersionInfo

from automation.engine.backend import BackendSettings
from automation.engine.cli_process import SupervisedPulumiCommand
from automation.engine.errors import classify
from automation.engine.locks import file_backend_locks, remove_torn_checkpoint_attributes
from automation.engine.protocol import (
    ConfigEntry,
    EventSink,
    OperationSummary,
    PolicySettings,
)
from automation.errors import ConfigInvalidError, LockHolder
from automation.reporting.events import op_counts, translate
from coder_platform.contracts import PROJECT
from coder_platform.redaction import Redactor

MIN_CLI_VERSION = VersionInfo(3, 229, 0)
T = TypeVar("T")


# Output for machines: the runner renders progress from engine events itself.
_QUIET: dict[str, Any] = {"color": "never", "suppress_outputs": True, "suppress_progress": True}


def _python_path(work_dir: Path) -> str:
    existing = os.environ.get("PYTHONPATH")
    return f"{work_dir}{os.pathsep}{existing}" if existing else str(work_dir)


def project_program(work_dir: Path) -> Callable[[], None]:
    """The project's own ``__main__.py``, run inline by the Automation API.

    Inline, the engine needs no Python language host: the only one the offline toolchain can
    build (v3.79) runs local programs but cannot start Python policy packs, and the runner
    always previews with the pack. ``work_dir`` still supplies Pulumi.yaml and stacks/.
    """

    def run() -> None:
        root = str(work_dir)
        if root not in sys.path:
            sys.path.insert(0, root)
        runpy.run_path(str(work_dir / "__main__.py"), run_name="__pulumi_program__")

    return run


class PulumiStackEngine:
    def __init__(self, stack: auto.Stack, backend: BackendSettings, redactor: Redactor) -> None:
        self._stack = stack
        self._backend = backend
        self._redactor = redactor

    def __repr__(self) -> str:
        return f"PulumiStackEngine(stack={self._stack.name!r}, backend={self._backend.url!r})"

    @classmethod
    def open(
        cls, stack_name: str, work_dir: Path, backend: BackendSettings, redactor: Redactor
    ) -> PulumiStackEngine:
        """Select the stack (create it only on the embedded local backend, never elsewhere)."""
        try:
            command = SupervisedPulumiCommand(version=MIN_CLI_VERSION)
        except FileNotFoundError:
            raise ConfigInvalidError(
                "the Pulumi CLI was not found on PATH",
                "Run scripts/install-toolchain and put its bin directory on PATH",
            ) from None
        except (OSError, subprocess.CalledProcessError) as error:
            raise ConfigInvalidError(
                f"`pulumi version` failed ({type(error).__name__})",
                "Check the Pulumi CLI on PATH; rebuild it with scripts/install-toolchain",
            ) from None
        except auto_errors.InvalidVersionError as error:
            raise ConfigInvalidError(
                f"the Pulumi CLI is too old ({error}); the runner needs {MIN_CLI_VERSION}+",
                "Run scripts/install-toolchain to build the pinned CLI",
            ) from None
        options = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            # Dynamic providers (GeneratedPassword, the Coder ones) are unpickled in a separate
            # provider process, which must import ``components`` from the project.
            # It runs on ${PULUMI_PYTHON_CMD:-python3}: make that this interpreter, whose
            # environment has the SDK, whatever the caller's PATH holds.
            env_vars={
                **backend.env,
                "PYTHONPATH": _python_path(work_dir),
                "PULUMI_PYTHON_CMD": sys.executable,
            },
            secrets_provider=backend.secrets_provider,
            pulumi_command=command,
        )
        remove_torn_checkpoint_attributes(backend.url, PROJECT, stack_name)
        select = auto.create_or_select_stack if backend.embedded else auto.select_stack
        try:
            stack = select(
                stack_name, project_name=PROJECT, program=project_program(work_dir), opts=options
            )
        except auto_errors.CommandError as error:
            raise classify(error, "stack select", stack_name, redactor) from None
        return cls(stack, backend, redactor)

    @property
    def stack_name(self) -> str:
        return str(self._stack.name)

    def config(self) -> Mapping[str, ConfigEntry]:
        values = self._call("config", self._stack.get_all_config)
        entries = {key: ConfigEntry(str(v.value), bool(v.secret)) for key, v in values.items()}
        self._redactor.add(*(e.value for e in entries.values() if e.secret))
        return entries

    def locks(self) -> Sequence[LockHolder]:
        return file_backend_locks(self._backend.url, PROJECT, self.stack_name)

    def export_state(self) -> dict[str, Any]:
        result = self._cli(["stack", "export", "--stack", self.stack_name], "stack export")
        state = json.loads(result.stdout)
        if not isinstance(state, dict):
            raise ConfigInvalidError(
                "pulumi stack export returned no deployment", "Check the backend and the stack name"
            )
        return state

    def import_state(self, state: Mapping[str, Any]) -> None:
        with tempfile.TemporaryDirectory(prefix="coder-platform-state-") as directory:
            path = Path(directory) / "deployment.json"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(state, handle)
            self._cli(
                ["stack", "import", "--file", str(path), "--stack", self.stack_name], "stack import"
            )

    def preview(
        self, *, policy: PolicySettings | None, expect_no_changes: bool, on_event: EventSink
    ) -> OperationSummary:
        result = self._call(
            "preview",
            lambda: self._stack.preview(
                refresh=True,
                run_program=True,
                expect_no_changes=expect_no_changes,
                on_event=_forward(on_event),
                **_QUIET,
                **_policy_kwargs(policy),
            ),
        )
        return OperationSummary(op_counts(result.change_summary))

    def up(
        self,
        *,
        policy: PolicySettings | None,
        on_event: EventSink,
        exclude: Sequence[str] = (),
    ) -> OperationSummary:
        # With --run-program the refresh happens step by step inside the update, so an
        # excluded resource is not read either (checked on CLI 3.259: an excluded dynamic
        # resource whose read fails leaves the update green, and a new child of an excluded
        # component is not created).
        excluding: dict[str, Any] = (
            {"exclude": list(exclude), "exclude_dependents": True} if exclude else {}
        )
        result = self._call(
            "up",
            lambda: self._stack.up(
                refresh=True,
                run_program=True,
                show_secrets=False,
                on_event=_forward(on_event),
                **_QUIET,
                **_policy_kwargs(policy),
                **excluding,
            ),
        )
        return OperationSummary(op_counts(result.summary.resource_changes))

    def preview_refresh(self, *, on_event: EventSink) -> OperationSummary:
        # A preview with refresh, not `refresh --preview-only`: with an inline program the
        # latter fails on component outputs ("registration isn't pending", CLI 3.259), and
        # the preview's refresh steps carry the same drift the collector reads.
        result = self._call(
            "preview --refresh",
            lambda: self._stack.preview(
                refresh=True,
                run_program=True,
                on_event=_forward(on_event),
                **_QUIET,
            ),
        )
        return OperationSummary(op_counts(result.change_summary))

    def destroy(self, *, on_event: EventSink) -> OperationSummary:
        result = self._call(
            "destroy",
            lambda: self._stack.destroy(
                run_program=True,
                exclude_protected=True,
                show_secrets=False,
                on_event=_forward(on_event),
                **_QUIET,
            ),
        )
        return OperationSummary(op_counts(result.summary.resource_changes))

    def cancel(self) -> None:
        self._call("cancel", self._stack.cancel)

    def set_env(self, name: str, value: str) -> None:
        workspace = self._stack.workspace
        workspace.env_vars = {**workspace.env_vars, name: value}

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except auto_errors.CommandError as error:
            raise classify(error, operation, self.stack_name, self._redactor) from None

    def _cli(self, args: list[str], operation: str) -> auto.CommandResult:
        workspace = self._stack.workspace
        env = dict(workspace.env_vars)
        if workspace.pulumi_home:
            env["PULUMI_HOME"] = workspace.pulumi_home
        return self._call(
            operation, lambda: workspace.pulumi_command.run(args, workspace.work_dir, env)
        )


def _forward(sink: EventSink) -> Callable[[auto.EngineEvent], None]:
    def forward(event: auto.EngineEvent) -> None:
        translated = translate(event)
        if translated is not None:
            sink(translated)

    return forward


def _policy_kwargs(policy: PolicySettings | None) -> dict[str, Any]:
    if policy is None:
        return {}
    kwargs: dict[str, Any] = {"policy_packs": [str(policy.pack)]}
    if policy.config is not None:
        kwargs["policy_pack_configs"] = [str(policy.config)]
    return kwargs


def open_pulumi_engine(
    stack: str, work_dir: Path, backend: BackendSettings, redactor: Redactor
) -> PulumiStackEngine:
    return PulumiStackEngine.open(stack, work_dir, backend, redactor)
