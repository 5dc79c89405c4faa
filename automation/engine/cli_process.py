"""The Pulumi CLI as the runner starts it: engine operations die with the runner.

``pulumi.automation`` (3.272) starts the CLI with ``subprocess.Popen`` and reads its output
through pipes, in the runner's process group. Killed with SIGKILL, the runner left two things
behind (CLI 3.259, observed): the CLI died of SIGPIPE on its next write, so it never released
the stack lock, and the plugins it had started, each in a process group of its own, ran on
forever. ``SupervisedPulumiCommand`` changes only how the engine operations (``up``,
``preview``, ``refresh``, ``destroy``: the commands that take the lock and start plugins) are
started:

- through ``supervisor.py``, in a session of its own, which cancels the CLI gracefully when the
  runner goes away and ends every process left below it (see that module);
- with stdout and stderr in unlinked temporary files instead of pipes, so no write of the CLI
  ever depends on the runner being alive (the SDK reads engine events from its event log file,
  not from stdout; the ``on_output`` callbacks get the lines once the command ends);
- a ``KeyboardInterrupt`` in the runner closes the supervisor's stdin (a graceful cancel) and
  waits for it, as a ^C on the CLI itself would.

Every other command (``version``, ``stack select``, ``config``, ``stack export``...) runs as the
SDK runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from pulumi.automation import CommandResult, OnOutput, PulumiCommand
from pulumi.automation.errors import create_command_error

from coder_platform.run_limits import ENGINE_CANCEL_GRACE_SECONDS

SUPERVISOR = Path(__file__).with_name("supervisor.py")
ENGINE_OPERATIONS = frozenset({"up", "preview", "refresh", "destroy"})
# How long the CLI may take to cancel (finish in-flight steps, save, unlock) before SIGKILL;
# the pod's terminationGracePeriodSeconds is derived from it (coder_platform/run_limits.py).
CANCEL_GRACE_SECONDS = float(ENGINE_CANCEL_GRACE_SECONDS)


def is_engine_operation(args: list[str]) -> bool:
    """The CLI verb of ``args`` (its first argument that is not a flag) runs the engine."""
    verb = next((arg for arg in args if not arg.startswith("-")), "")
    return verb in ENGINE_OPERATIONS


class SupervisedPulumiCommand(PulumiCommand):
    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: OnOutput | None = None,
        on_error: OnOutput | None = None,
    ) -> CommandResult:
        if not is_engine_operation(args):
            return super().run(args, cwd, additional_env, on_output, on_error)
        if "--non-interactive" not in args:
            args = ["--non-interactive", *args]
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(self.command):
            env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        with (
            tempfile.TemporaryFile("w+", encoding="utf-8") as stdout,
            tempfile.TemporaryFile("w+", encoding="utf-8") as stderr,
        ):
            code = supervise([self.command, *args], cwd, env, stdout, stderr)
            out, err = _lines(stdout, on_output), _lines(stderr, on_error)
        result = CommandResult(stdout="\n".join(out), stderr="\n".join(err), code=code)
        if code != 0:
            raise create_command_error(result)
        return result


def supervise(
    command: list[str], cwd: str, env: Mapping[str, str], stdout: IO[str], stderr: IO[str]
) -> int:
    """Run ``command`` under the supervisor; its exit code (128+N for a signal N)."""
    read_end, write_end = os.pipe()  # the write end stays here: its closing says "runner gone"
    try:
        supervisor = [sys.executable, "-I", "-S", str(SUPERVISOR), str(CANCEL_GRACE_SECONDS)]
        process = subprocess.Popen(
            [*supervisor, "--", *command],
            stdin=read_end,
            stdout=stdout,
            stderr=stderr,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    finally:
        os.close(read_end)
    try:
        return process.wait()
    except BaseException:
        os.close(write_end)
        write_end = -1
        process.wait()
        raise
    finally:
        if write_end >= 0:
            os.close(write_end)


def _lines(stream: IO[str], callback: OnOutput | None) -> list[str]:
    stream.seek(0)
    lines = [line.rstrip() for line in stream]
    if callback is not None:
        for line in lines:
            callback(line)
    return lines
