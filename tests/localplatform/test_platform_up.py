"""``LocalPlatform.up``: a healthy platform is checked, never restarted; what does not answer is
started in order; the stack's OpenBao inputs are seeded once per stack file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from localplatform.binaries import ROOT
from localplatform.daemon import PartError
from localplatform.openbao import OidcClient
from localplatform.platform import PARTS, LocalPlatform, StackPaths

PATHS = {"bootstrap_admin_path": "coder/admin", "cli_token_path": "coder/token"}


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalPlatform:
    def no_binaries(*_: object) -> None:
        raise PartError("the binaries were asked for")

    monkeypatch.setattr("localplatform.binaries.PlatformBinaries.installed", no_binaries)
    return LocalPlatform(tmp_path / "platform", tmp_path / "kube", 17999, 18999)


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text("config: {}\n")
    return path


def _record(monkeypatch: pytest.MonkeyPatch, healthy: set[str]) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(LocalPlatform, "healthy", lambda _self, part: part in healthy)
    monkeypatch.setattr(
        LocalPlatform, "start", lambda _self, part, _stack=None: calls.append(f"start {part}")
    )
    monkeypatch.setattr(LocalPlatform, "seed_inputs", lambda _self, _stack: calls.append("seed"))
    return calls


def test_up_starts_nothing_and_asks_for_no_binaries_when_every_part_is_healthy(
    platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record(monkeypatch, set(PARTS))
    platform.directory.joinpath("openbao").mkdir(parents=True)
    platform.directory.joinpath("openbao", "inputs-seeded").write_text(
        json.dumps(
            {"stack_sha256": hashlib.sha256(stack_file.read_bytes()).hexdigest(), "paths": PATHS}
        )
    )

    endpoints = platform.up(stack_file)

    assert calls == []
    assert endpoints.coder_url == "http://127.0.0.1:17999"
    assert endpoints.vault_address == "http://127.0.0.1:18999"


def test_up_starts_only_the_parts_that_do_not_answer_in_order_when_some_are_down(
    platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record(monkeypatch, {"kube", "openbao"})

    platform.up(None)

    assert calls == ["start postgres", "start coder"]


def test_up_seeds_the_inputs_when_the_stack_file_changed_since_the_last_seed(
    platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record(monkeypatch, set(PARTS))
    platform.directory.joinpath("openbao").mkdir(parents=True)
    platform.directory.joinpath("openbao", "inputs-seeded").write_text(
        json.dumps({"stack_sha256": "an older stack's hash", "paths": PATHS})
    )

    platform.up(stack_file)

    assert calls == ["seed"]


def test_the_summary_names_the_paths_recorded_at_seeding_when_the_stack_is_unchanged(
    platform: LocalPlatform, stack_file: Path
) -> None:
    platform.directory.joinpath("openbao").mkdir(parents=True)
    platform.directory.joinpath("openbao", "inputs-seeded").write_text(
        json.dumps(
            {"stack_sha256": hashlib.sha256(stack_file.read_bytes()).hexdigest(), "paths": PATHS}
        )
    )
    assert platform.stack_paths(stack_file) == StackPaths("coder/admin", "coder/token")


LOOPBACK_ISSUER = "http://127.0.0.1:18999/v1/identity/oidc/provider/default"


class FakeKv:
    def __init__(self, data: dict[str, dict[str, str]]) -> None:
        self.data = data

    def read_kv(self, path: str) -> dict[str, str] | None:
        return self.data.get(path)

    def write_kv(self, path: str, data: dict[str, str]) -> None:
        self.data[path] = data


def _seeded(platform: LocalPlatform, stack_file: Path, **record: object) -> None:
    platform.directory.joinpath("openbao").mkdir(parents=True)
    platform.directory.joinpath("openbao", "inputs-seeded").write_text(
        json.dumps(
            {
                "stack_sha256": hashlib.sha256(stack_file.read_bytes()).hexdigest(),
                "paths": PATHS,
                "oidc_path": "coder/oidc",
                **record,
            }
        )
    )


def _openbao_answers(monkeypatch: pytest.MonkeyPatch, kv: FakeKv, asked: list[str]) -> OidcClient:
    client = OidcClient(LOOPBACK_ISSUER, "bao-client", "csecret")
    monkeypatch.setattr(LocalPlatform, "running", lambda _self, part: part == "openbao")
    monkeypatch.setattr(LocalPlatform, "openbao", property(lambda _self: kv))

    def oidc(_self: LocalPlatform, deployed_coder_url: str | None = None) -> OidcClient:
        asked.append(f"oidc client for {deployed_coder_url}")
        return client

    monkeypatch.setattr(LocalPlatform, "_oidc", oidc)
    return client


def test_up_rewrites_the_oidc_record_when_the_issuer_moved_since_seeding(
    platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record(monkeypatch, set(PARTS))
    old = "http://10.9.9.9:18999/v1/identity/oidc/provider/default"
    _seeded(platform, stack_file, oidc_issuer=old, coder_url="http://127.0.0.1:30080")
    kv = FakeKv({"coder/oidc": {"client_secret": "csecret", "client_id": "bao-client"}})
    asked: list[str] = []
    _openbao_answers(monkeypatch, kv, asked)

    platform.up(stack_file)

    assert calls == []  # not seeded again: the stack file is the same
    assert kv.data["coder/oidc"]["issuer_url"] == LOOPBACK_ISSUER
    stamp = json.loads(platform.directory.joinpath("openbao", "inputs-seeded").read_text())
    assert stamp["oidc_issuer"] == LOOPBACK_ISSUER
    # The next up finds the record current and asks OpenBao nothing.
    platform.up(stack_file)
    # Its client also redirects to the stack's deployed Coder (the chart's, at its NodePort).
    assert asked == ["oidc client for http://127.0.0.1:30080"]


def test_up_asks_openbao_nothing_when_the_recorded_issuer_is_current(
    platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(monkeypatch, set(PARTS))
    _seeded(platform, stack_file, oidc_issuer=LOOPBACK_ISSUER)
    kv = FakeKv({"coder/oidc": {"client_secret": "csecret"}})
    asked: list[str] = []
    _openbao_answers(monkeypatch, kv, asked)

    platform.up(stack_file)

    assert asked == []
    assert kv.data["coder/oidc"] == {"client_secret": "csecret"}


def test_the_summary_names_the_deployed_coders_url_recorded_at_seeding(
    platform: LocalPlatform, stack_file: Path
) -> None:
    _seeded(platform, stack_file, coder_url="http://127.0.0.1:30080")
    assert platform.stack_coder_url(stack_file) == "http://127.0.0.1:30080"


def test_the_summary_reads_the_stack_when_it_changed_since_seeding(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    stack_file = tmp_path / "Pulumi.node.yaml"
    stack_file.write_text((ROOT / "stacks" / "Pulumi.node.yaml").read_text())
    platform.directory.joinpath("openbao").mkdir(parents=True)
    platform.directory.joinpath("openbao", "inputs-seeded").write_text(
        json.dumps({"stack_sha256": "an older stack's hash", "paths": PATHS, "coder_url": None})
    )
    # The node stack deploys Coder from its chart: its access URL, not the host Coder's port.
    assert platform.stack_coder_url(stack_file) == "http://127.0.0.1:30080"


def _with_node(tmp_path: Path) -> LocalPlatform:
    return LocalPlatform(tmp_path / "node-platform", tmp_path / "kube", 17999, 18999, node=True)


def _record_login(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    monkeypatch.setattr(
        LocalPlatform, "configure_reconciler_login", lambda _self, _stack: calls.append("login")
    )
    monkeypatch.setattr(
        LocalPlatform, "prepare_node_state", lambda _self, _stack: calls.append("state")
    )
    monkeypatch.setattr(
        LocalPlatform, "write_node_state_secret", lambda _self: calls.append("state secret")
    )


def test_up_with_a_node_configures_the_reconciler_login_after_seeding_when_a_part_started(
    tmp_path: Path, platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node_platform = _with_node(tmp_path)
    calls = _record(monkeypatch, {"kube", "node", "postgres", "coder"})
    _record_login(monkeypatch, calls)

    node_platform.up(stack_file)

    assert calls == ["start openbao", "seed", "login", "state", "state secret"]


def test_up_with_a_node_only_writes_the_state_secret_when_everything_answers_and_is_seeded(
    tmp_path: Path, platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node_platform = _with_node(tmp_path)
    calls = _record(monkeypatch, {"kube", "node", "postgres", "openbao", "coder"})
    _record_login(monkeypatch, calls)
    node_platform.directory.joinpath("openbao").mkdir(parents=True)
    node_platform.directory.joinpath("openbao", "inputs-seeded").write_text(
        json.dumps(
            {"stack_sha256": hashlib.sha256(stack_file.read_bytes()).hexdigest(), "paths": PATHS}
        )
    )

    node_platform.up(stack_file)

    # The Secret is tried on every `up`: the first reconcile creates its namespace.
    assert calls == ["state secret"]


def test_up_without_a_node_never_configures_the_reconciler_login(
    platform: LocalPlatform, stack_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record(monkeypatch, {"kube", "postgres", "coder"})
    _record_login(monkeypatch, calls)

    platform.up(stack_file)

    assert calls == ["start openbao", "seed"]
