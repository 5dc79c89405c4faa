"""Engine operations die with the runner: the supervisor, against a stand-in Pulumi CLI.

The stand-in behaves as CLI 3.259 was seen to: it starts a "plugin" in a process group of its
own, writes to stdout, and on SIGINT cancels gracefully (here: records it and exits 0).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pulumi.automation import errors as auto_errors

from automation.engine.cli_process import SupervisedPulumiCommand, is_engine_operation, supervise
from testbed.harness import ROOT

FAKE_CLI = textwrap.dedent(
    """\
    #!{python}
    import os, signal, subprocess, sys, time
    from pathlib import Path
    marks = Path(os.environ["MARKS"])
    plugin = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
    )
    (marks / "plugin.pid").write_text(str(plugin.pid))
    (marks / "cli.pid").write_text(str(os.getpid()))
    def cancel(signum, frame):
        time.sleep(float(os.environ.get("CANCEL_SECONDS", "0")))  # saving the checkpoint...
        (marks / "cancelled").write_text(str(signum))
        sys.exit(0)
    signal.signal(signal.SIGINT, cancel)
    print("args", *sys.argv[1:], flush=True)
    print("warning on stderr", file=sys.stderr, flush=True)
    if os.environ.get("LEAVE_PLUGIN"):
        sys.exit(int(os.environ.get("EXIT", "0")))
    time.sleep(600)
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    return state != "Z"


def wait_for(predicate, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    path = tmp_path / "pulumi"
    path.write_text(FAKE_CLI.format(python=sys.executable))
    path.chmod(0o755)
    return path


def test_only_engine_operations_are_supervised_when_the_sdk_runs_a_command() -> None:
    assert is_engine_operation(["--non-interactive", "up", "--yes"])
    assert is_engine_operation(["preview", "--refresh"])
    assert not is_engine_operation(["stack", "export", "--stack", "dev"])
    assert not is_engine_operation(["config", "--json"])


def test_the_cli_cancels_and_its_plugin_ends_when_the_runner_is_killed(
    tmp_path: Path, fake_cli: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    runner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, tempfile\n"
            "from automation.engine.cli_process import supervise\n"
            "out = tempfile.TemporaryFile('w+')\n"
            f"supervise([{str(fake_cli)!r}, 'up'], '.', dict(os.environ), out, out)\n",
        ],
        cwd=ROOT,
        env={**os.environ, "MARKS": str(marks)},
    )
    assert wait_for(lambda: (marks / "plugin.pid").exists() and (marks / "cli.pid").exists())
    cli, plugin = (int((marks / name).read_text()) for name in ("cli.pid", "plugin.pid"))

    runner.send_signal(signal.SIGKILL)
    runner.wait()

    assert wait_for((marks / "cancelled").exists), "the CLI was not asked to cancel"
    assert (marks / "cancelled").read_text() == str(int(signal.SIGINT))
    assert wait_for(lambda: not alive(cli) and not alive(plugin)), "a process outlived the run"


def test_sigterm_to_the_runner_cancels_the_cli_and_waits_for_its_cancel_to_finish(
    tmp_path: Path, fake_cli: Path
) -> None:
    """What the kubelet does at a Job's deadline or a drain: SIGTERM, then SIGKILL after the
    grace period. The runner must return only once the CLI has cancelled (released its lock)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    runner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, tempfile\n"
            "from pathlib import Path\n"
            "from automation.engine.cli_process import supervise\n"
            "from automation.termination import Terminated, stop_on_sigterm\n"
            "stop_on_sigterm()\n"
            "out = tempfile.TemporaryFile('w+')\n"
            "try:\n"
            f"    supervise([{str(fake_cli)!r}, 'up'], '.', dict(os.environ), out, out)\n"
            "except Terminated:\n"
            f"    Path({str(marks)!r}, 'runner-done').write_text('terminated')\n",
        ],
        cwd=ROOT,
        env={**os.environ, "MARKS": str(marks), "CANCEL_SECONDS": "1"},
    )
    assert wait_for(lambda: (marks / "plugin.pid").exists() and (marks / "cli.pid").exists())
    cli, plugin = (int((marks / name).read_text()) for name in ("cli.pid", "plugin.pid"))

    runner.send_signal(signal.SIGTERM)
    runner.send_signal(signal.SIGTERM)  # a second one must not cut the cancel short
    runner.wait(timeout=30)

    assert (marks / "runner-done").read_text() == "terminated"
    assert (marks / "cancelled").read_text() == str(int(signal.SIGINT))
    assert not alive(cli), "the runner returned before the CLI finished cancelling"
    assert wait_for(lambda: not alive(plugin), 10), "the plugin outlived the run"


def test_no_plugin_outlives_a_cli_that_exits_without_closing_it(
    tmp_path: Path, fake_cli: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "MARKS": str(marks), "LEAVE_PLUGIN": "1", "EXIT": "3"}
    with open(tmp_path / "out", "w+") as out:
        code = supervise([str(fake_cli), "up"], str(tmp_path), env, out, out)

    plugin = int((marks / "plugin.pid").read_text())
    assert code == 3
    assert wait_for(lambda: not alive(plugin), 10), "the orphaned plugin is still running"


def test_output_and_errors_reach_the_caller_as_the_sdk_reports_them_when_supervised(
    tmp_path: Path, fake_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    monkeypatch.setenv("LEAVE_PLUGIN", "1")
    command = object.__new__(SupervisedPulumiCommand)  # no `pulumi version` probe
    command.command = str(fake_cli)
    seen: list[str] = []

    result = command.run(["preview", "--refresh"], str(tmp_path), {}, on_output=seen.append)

    assert result.code == 0
    assert result.stdout == "args --non-interactive preview --refresh" == seen[0]
    assert result.stderr == "warning on stderr"
    monkeypatch.setenv("EXIT", "4")
    with pytest.raises(auto_errors.CommandError, match="code: 4"):
        command.run(["up", "--yes"], str(tmp_path), {})
