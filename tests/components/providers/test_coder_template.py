"""CoderTemplate: one version per content change, zero writes when nothing changed, gone after a
reset, drift taken back, failures that show their log, against the in-process Coder double.

Contract clauses: C1 (inputs fail at check, naming the field), C2 (a no-op run makes zero
writes; the token never counts as a change; no secret in an error or a log), C3 (a hand-deleted
template is re-created, a hand-pushed version is taken back).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dill
import httpx
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from coder_platform.coder_api import CoderClient
from coder_platform.contracts import CURRENT_CODER_TOKEN_ENV
from coder_platform.template_archive import TemplateDirectoryError, build_archive, directory_hash
from components.providers.coder_template import (
    DEFAULT_JOB_DEADLINE_SECONDS,
    CoderTemplate,
    CoderTemplateArgs,
    CoderTemplateProvider,
    TemplateImportError,
    TemplateInUseError,
    TemplateNotEntitledError,
    TemplateRefusedError,
)
from components.providers.common import TokenAuthenticatedProvider
from components.providers.sdk_internals import UNKNOWN
from testbed.coder_double import BASE_URL, ORG_ID, CoderDouble, FakeClock
from testbed.harness import CapturedOptions, is_secret, run_component
from tests.components.providers.seeded_coder import (
    EMAIL,
    PASSWORD,
    USERNAME,
    created,
    mint_token,
    read_outs,
    writes_since,
)

TYPE = "pulumi-python:dynamic/coder:CoderTemplate"
DIRECTORY = "templates/demo"
VERSIONS = "/organizations/default/templateversions"
TEMPLATES = "/organizations/default/templates"


@pytest.fixture
def double() -> CoderDouble:
    coder = CoderDouble()
    with CoderClient(BASE_URL, transport=coder.transport()) as client:
        client.create_first_user(EMAIL, USERNAME, "Coder Automation", PASSWORD)
    return coder


@pytest.fixture
def token(double: CoderDouble) -> str:
    return mint_token(double, "templates")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    template = tmp_path / "checkout" / DIRECTORY
    (template / "scripts").mkdir(parents=True)
    (template / "main.tf").write_text('variable "namespace" {}\nresource "null_resource" "a" {}\n')
    (template / "scripts" / "setup.sh").write_text("#!/bin/sh\necho ready\n")
    return tmp_path / "checkout"


@pytest.fixture
def provider(double: CoderDouble) -> CoderTemplateProvider:
    return CoderTemplateProvider(
        lambda url: CoderClient(url, transport=double.transport(), clock=FakeClock())
    )


@pytest.fixture
def inputs(repo: Path, token: str) -> Callable[..., dict[str, Any]]:
    def build(**overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "url": BASE_URL,
            "token": token,
            "organization": "default",
            "name": "demo",
            "display_name": "Demo",
            "description": "A template for tests",
            "icon": "/icon/k8s.png",
            "default_ttl_ms": 0.0,  # the engine sends numbers as floats
            "activity_bump_ms": 3_600_000.0,
            "variables": {"namespace": "coder-workspaces"},
            "directory": DIRECTORY,
            "source_root": str(repo),
            "directory_hash": directory_hash(repo / DIRECTORY),
            "__provider": "pickled-provider",
        }
        props.update(overrides)
        return props

    return build


Inputs = Callable[..., dict[str, Any]]


def edit(repo: Path, text: str = "# edited\n") -> None:
    (repo / DIRECTORY / "README.md").write_text(text)


# -- create -------------------------------------------------------------------------------------


def test_create_makes_one_upload_one_version_one_template_when_coder_has_none(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    template_id, outs = created(provider, inputs())
    assert writes_since(double, start) == [
        ("POST", "/files"),
        ("POST", VERSIONS),
        ("POST", TEMPLATES),
    ]
    template = double.template_records[template_id]
    [version] = double.versions_of(template_id)
    assert template.active_version_id == version.id == outs["version_id"]
    assert outs["active_version_id"] == version.id
    assert (outs["template_id"], outs["organization_id"]) == (template_id, ORG_ID)
    assert (template.display_name, template.icon) == ("Demo", "/icon/k8s.png")
    assert (template.default_ttl_ms, template.activity_bump_ms) == (0, 3_600_000)
    assert version.variables == {"namespace": "coder-workspaces"}
    assert version.polls >= 3, "the job was polled through pending and running"


def test_archive_uploaded_is_the_deterministic_one_when_created(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs, repo: Path
) -> None:
    created(provider, inputs())
    [file] = double.files.values()
    assert file.data == build_archive(repo / DIRECTORY).data


def test_second_create_makes_zero_writes_when_the_template_already_runs_this_content(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    first_id, first = created(provider, inputs())
    writes = double.writes()
    second_id, second = created(provider, inputs())
    assert double.writes() == writes
    assert (second_id, second["version_id"]) == (first_id, first["version_id"])


def test_create_adopts_a_live_template_with_a_new_version_when_it_runs_other_content(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id = double.add_template("demo", ["old"])
    start = len(double.requests)
    created_id, outs = created(provider, inputs())
    assert created_id == template_id
    assert writes_since(double, start) == [
        ("POST", "/files"),
        ("POST", VERSIONS),
        ("PATCH", f"/templates/{template_id}/versions"),
        ("PATCH", f"/templates/{template_id}"),
    ]
    assert double.template_records[template_id].active_version_id == outs["version_id"]
    assert double.template_records[template_id].description == "A template for tests"


def test_create_fails_before_any_write_when_the_directory_changed_after_hashing(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs, repo: Path
) -> None:
    props = inputs()
    edit(repo)
    writes = double.writes()
    with pytest.raises(TemplateDirectoryError, match=r"'demo'.*changed after the program hashed"):
        provider.create(props)
    assert double.writes() == writes


def test_thirteen_templates_in_a_row_succeed_when_uploads_bypass_the_rate_limit(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    for index in range(13):
        created(provider, inputs(name=f"demo-{index}"))
    assert double.count("POST", "/files") == 13
    assert len([t for t in double.template_records.values() if not t.deleted]) == 13


def test_the_double_rate_limits_uploads_when_the_bypass_header_is_missing(
    double: CoderDouble, token: str, repo: Path
) -> None:
    data = build_archive(repo / DIRECTORY).data
    headers = {"Coder-Session-Token": token, "Content-Type": "application/x-tar"}
    with httpx.Client(base_url=f"{BASE_URL}/api/v2", transport=double.transport()) as http:
        statuses = [
            http.post("/files", content=data, headers=headers).status_code for _ in range(13)
        ]
    assert statuses == [201, *[200] * 11, 429]


# -- read and diff: zero writes when nothing changed ----------------------------------------------


def test_read_and_diff_make_zero_writes_when_nothing_changed(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    start = len(double.requests)
    refreshed = read_outs(provider, template_id, outs)
    result = provider.diff(template_id, refreshed, inputs())
    assert (result.changes, result.replaces) == (False, [])
    assert double.requests[start:] == [("GET", f"/templates/{template_id}")]


def test_diff_shows_no_change_when_only_the_token_or_the_checkout_moved(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    rotated = inputs(token=mint_token(double, "rotated"), source_root="/elsewhere/checkout")
    assert provider.diff(template_id, outs, rotated).changes is False


@pytest.mark.parametrize(
    ("field", "value", "replaces"),
    [
        ("name", "renamed", []),
        ("organization", "other-org", ["organization"]),
        ("url", "https://coder.elsewhere.test", ["url"]),
        ("description", "new words", []),
        ("activity_bump_ms", 7_200_000.0, []),
        ("variables", {"namespace": "other"}, []),
        ("directory_hash", "0" * 64, []),
        ("directory_hash", UNKNOWN, []),
    ],
)
def test_diff_names_the_change_when_a_declared_property_changes(
    provider: CoderTemplateProvider, inputs: Inputs, field: str, value: Any, replaces: list[str]
) -> None:
    template_id, outs = created(provider, inputs())
    result = provider.diff(template_id, outs, inputs(**{field: value}))
    assert (result.changes, result.replaces) == (True, replaces)


# -- update ---------------------------------------------------------------------------------------


def test_editing_one_file_makes_exactly_one_new_version_when_updated(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs, repo: Path
) -> None:
    template_id, outs = created(provider, inputs())
    edit(repo)
    news = inputs()
    assert news["directory_hash"] != outs["directory_hash"]
    assert provider.diff(template_id, outs, news).changes is True
    start = len(double.requests)
    result = provider.update(template_id, outs, news)
    assert result.outs is not None
    assert writes_since(double, start) == [
        ("POST", "/files"),
        ("POST", VERSIONS),
        ("PATCH", f"/templates/{template_id}/versions"),
    ]
    versions = double.versions_of(template_id)
    assert len(versions) == 2
    assert double.template_records[template_id].active_version_id == versions[-1].id
    assert result.outs["version_id"] == result.outs["active_version_id"] == versions[-1].id


def test_a_variables_change_makes_one_new_version_when_updated(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    news = inputs(variables={"namespace": "team-a"})
    provider.update(template_id, outs, news)
    versions = double.versions_of(template_id)
    assert len(versions) == 2
    assert versions[-1].variables == {"namespace": "team-a"}
    assert double.count("POST", "/files") == 2


def test_a_settings_change_makes_no_new_version_when_updated(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    start = len(double.requests)
    result = provider.update(template_id, outs, inputs(display_name="Demo 2", icon="/icon/x.svg"))
    assert writes_since(double, start) == [("PATCH", f"/templates/{template_id}")]
    assert len(double.versions_of(template_id)) == 1
    assert double.template_records[template_id].display_name == "Demo 2"
    assert result.outs is not None and result.outs["version_id"] == outs["version_id"]


def test_a_template_created_closed_never_grants_everyone_and_the_flag_is_never_a_diff(
    double: CoderDouble, provider: CoderTemplateProvider, inputs: Inputs
) -> None:
    """disable_everyone_group_access is sent at create (coderd's CreateTemplateRequest); after
    that CoderTemplateAccess owns the ACL, so the flag never shows as a change."""
    closed = inputs(disable_everyone_group_access=True)
    template_id, outs = created(provider, closed)
    assert double.template_records[template_id].group_acl == {}
    assert not provider.diff(template_id, outs, inputs()).changes
    opened_id, opened = created(provider, inputs(name="open"))
    assert double.template_records[opened_id].group_acl == {ORG_ID: "use"}
    old_state = {k: v for k, v in opened.items() if k != "disable_everyone_group_access"}
    refreshed = read_outs(provider, opened_id, old_state)
    news = inputs(name="open", disable_everyone_group_access=False)
    assert not provider.diff(opened_id, refreshed, news).changes, "state from before the input"


def test_a_rename_is_one_patch_keeping_id_and_versions_when_the_name_changes(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    assert provider.diff(template_id, outs, inputs(name="demo-2")).replaces == []
    start = len(double.requests)
    result = provider.update(template_id, outs, inputs(name="demo-2"))
    assert writes_since(double, start) == [("PATCH", f"/templates/{template_id}")]
    assert double.template_records[template_id].name == "demo-2"
    assert len(double.versions_of(template_id)) == 1
    assert result.outs is not None and result.outs["version_id"] == outs["version_id"]
    refreshed = read_outs(provider, template_id, result.outs)
    assert provider.diff(template_id, refreshed, inputs(name="demo-2")).changes is False


def test_a_rename_to_a_taken_name_fails_naming_both_and_changes_nothing(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    double.add_template("taken", ["v1"])
    with pytest.raises(TemplateRefusedError) as raised:
        provider.update(template_id, outs, inputs(name="taken"))
    assert "'demo'" in str(raised.value) and "'taken'" in str(raised.value)
    assert double.template_records[template_id].name == "demo"


def test_a_hand_rename_reads_as_a_change_and_is_renamed_back(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    double.template_records[template_id].name = "renamed-by-hand"
    refreshed = read_outs(provider, template_id, outs)
    diff = provider.diff(template_id, refreshed, inputs())
    assert (diff.changes, diff.replaces) == (True, [])
    provider.update(template_id, refreshed, inputs())
    assert double.template_records[template_id].name == "demo"


def test_a_hand_edit_of_settings_reads_as_a_change_and_is_patched_back(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    double.template_records[template_id].description = "edited in the UI"
    refreshed = read_outs(provider, template_id, outs)
    assert provider.diff(template_id, refreshed, inputs()).changes is True
    provider.update(template_id, refreshed, inputs())
    assert double.template_records[template_id].description == "A template for tests"
    assert len(double.versions_of(template_id)) == 1


def test_a_failed_import_names_the_template_shows_its_log_and_keeps_the_active_version(
    provider: CoderTemplateProvider,
    double: CoderDouble,
    inputs: Inputs,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    template_id, outs = created(provider, inputs())
    edit(Path(outs["source_root"]))
    double.fail_next_import(
        ["Error: Unsupported argument on main.tf line 3", f"debug: Coder-Session-Token: {token}"],
        error=f"plan failed with token {token}",
    )
    with pytest.raises(TemplateImportError) as raised:
        provider.update(template_id, outs, inputs())
    text = str(raised.value)
    assert "'demo'" in text
    assert "the import job failed" in text
    assert "Error: Unsupported argument on main.tf line 3" in text
    assert "the active version is unchanged" in text
    assert token not in text and token not in caplog.text
    assert double.template_records[template_id].active_version_id == outs["version_id"]


def test_create_fails_with_the_log_and_makes_no_template_when_the_import_fails(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs, repo: Path
) -> None:
    (repo / DIRECTORY / "fail.tf").write_text("# the double fails imports with this file\n")
    with pytest.raises(TemplateImportError, match=r"(?s)'demo'.*fail\.tf asked this import"):
        provider.create(inputs())
    assert double.count("POST", TEMPLATES) == 0


def test_create_fails_clearly_when_the_import_job_outlives_the_deadline(
    double: CoderDouble, inputs: Inputs
) -> None:
    double.pending_polls = 10**6
    clock = FakeClock()
    provider = CoderTemplateProvider(
        lambda url: CoderClient(url, transport=double.transport(), clock=clock),
        job_deadline_seconds=60,
    )
    with pytest.raises(TemplateImportError, match="still pending after 60s"):
        provider.create(inputs())
    assert sum(clock.sleeps) == pytest.approx(60)
    assert double.count("POST", TEMPLATES) == 0


# -- drift and reset ------------------------------------------------------------------------------


def test_a_hand_deleted_template_reads_gone_and_create_restores_it(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs, token: str
) -> None:
    template_id, outs = created(provider, inputs())
    with CoderClient(BASE_URL, token, transport=double.transport()) as client:
        assert client.delete_template(template_id, "demo") is True
    result = provider.read(template_id, outs)
    assert (result.id, result.outs) == ("", {})
    new_id, _ = created(provider, inputs())
    assert new_id != template_id
    assert double.live_template("demo") is double.template_records[new_id]


def test_a_reset_reads_as_gone_and_create_restores_the_template(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    double.wipe()
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.create_first_user(EMAIL, USERNAME, "Coder Automation", PASSWORD)
    fresh = inputs(token=mint_token(double, "after-reset"))
    assert provider.read(template_id, {**outs, "token": fresh["token"]}).id == ""
    new_id, _ = created(provider, fresh)
    assert len(double.versions_of(new_id)) == 1


def test_a_hand_pushed_version_reads_as_drift_and_update_reactivates_ours(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    pushed = double.push_by_hand(template_id)
    refreshed = read_outs(provider, template_id, outs)
    assert refreshed["active_version_id"] == pushed
    result = provider.diff(template_id, refreshed, inputs())
    assert (result.changes, result.replaces) == (True, [])
    start = len(double.requests)
    provider.update(template_id, refreshed, inputs())
    assert writes_since(double, start) == [("PATCH", f"/templates/{template_id}/versions")]
    assert double.template_records[template_id].active_version_id == outs["version_id"]
    after = read_outs(provider, template_id, outs)
    assert provider.diff(template_id, after, inputs()).changes is False


def test_update_builds_a_new_version_when_ours_was_archived_after_a_hand_push(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    double.push_by_hand(template_id)
    double.template_versions[outs["version_id"]].archived = True
    refreshed = read_outs(provider, template_id, outs)
    result = provider.update(template_id, refreshed, inputs())
    assert result.outs is not None
    assert len(double.versions_of(template_id)) == 3
    assert double.template_records[template_id].active_version_id == result.outs["version_id"]
    assert result.outs["version_id"] != outs["version_id"]


def test_a_rotated_token_leaves_read_unverified_and_update_writes_nothing_to_coder(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs, token: str
) -> None:
    template_id, outs = created(provider, inputs())
    old_key = token.split("-", maxsplit=1)[0]
    del double.keys[old_key]  # the rotation revoked the token the state still holds
    refreshed = read_outs(provider, template_id, outs)
    assert refreshed["active_version_id"] == ""
    news = inputs(token=mint_token(double, "rotated"))
    assert provider.diff(template_id, refreshed, news).changes is True
    writes = double.writes()
    result = provider.update(template_id, refreshed, news)
    assert double.writes() == writes
    assert result.outs is not None and result.outs["token"] == news["token"]
    verified = read_outs(provider, template_id, result.outs)
    assert provider.diff(template_id, verified, news).changes is False


def test_a_rotated_token_refreshes_with_the_runners_token_and_zero_writes_when_handed_over(
    provider: CoderTemplateProvider,
    double: CoderDouble,
    inputs: Inputs,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template_id, outs = created(provider, inputs())
    del double.keys[token.split("-", maxsplit=1)[0]]  # the rotation revoked the stored token
    rotated = mint_token(double, "rotated")
    monkeypatch.setenv(CURRENT_CODER_TOKEN_ENV, rotated)
    writes = double.writes()

    refreshed = read_outs(provider, template_id, outs)

    assert double.writes() == writes
    assert refreshed["active_version_id"] == outs["version_id"], "verified, not unverified"
    assert refreshed["token"] == rotated, "later reads start from the working token"
    assert provider.diff(template_id, refreshed, inputs(token=rotated)).changes is False


# -- delete ---------------------------------------------------------------------------------------


def test_delete_fails_clearly_and_changes_nothing_when_workspaces_use_the_template(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    double.add_workspace("demo", "alice-dev")
    double.add_workspace("demo", "bob-dev")
    with pytest.raises(TemplateInUseError) as raised:
        provider.delete(template_id, outs)
    assert "'demo'" in str(raised.value)
    assert "2 workspace(s)" in str(raised.value)
    assert "Nothing was changed" in str(raised.value)
    assert double.template_records[template_id].deleted is False


def test_delete_removes_the_template_and_succeeds_again_when_it_is_already_gone(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    provider.delete(template_id, outs)
    assert double.template_records[template_id].deleted is True
    provider.delete(template_id, outs)
    assert double.count("DELETE", f"/templates/{template_id}") == 2


# -- check ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "coder.internal"),
        ("token", ""),
        ("name", "Demo"),
        ("name", "-demo"),
        ("name", "x" * 33),
        ("display_name", " padded"),
        ("description", "d" * 129),
        ("default_ttl_ms", -1),
        ("activity_bump_ms", 1.5),
        ("variables", {"namespace": 3}),
        ("directory", "../outside"),
        ("directory", "/abs/templates/demo"),
        ("source_root", "relative/checkout"),
        ("directory_hash", "not-a-hash"),
    ],
)
def test_check_names_the_field_and_never_the_value_when_an_input_is_invalid(
    provider: CoderTemplateProvider, inputs: Inputs, field: str, value: Any
) -> None:
    failures = provider.check({}, inputs(**{field: value})).failures
    assert [f.property for f in failures] == [field]
    assert failures[0].reason.startswith(f"{field}:")
    if isinstance(value, str) and len(value) > 3:
        assert value not in failures[0].reason


def test_check_passes_when_inputs_are_valid_or_unknown_at_preview(
    provider: CoderTemplateProvider, inputs: Inputs
) -> None:
    assert provider.check({}, inputs()).failures == []
    unknown = {key: UNKNOWN for key in ("url", "token", "name", "directory_hash")}
    assert provider.check({}, inputs(**unknown)).failures == []
    assert provider.check({}, inputs(description="d" * 127, variables={})).failures == []


def test_create_refuses_to_call_coder_when_an_input_is_invalid(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    requests = len(double.requests)
    with pytest.raises(ValueError, match="name: must be"):
        provider.create(inputs(name="Not_Valid"))
    assert len(double.requests) == requests


# -- registration ---------------------------------------------------------------------------------


def test_resource_registers_its_type_token_and_keeps_the_token_secret_when_declared() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CoderTemplate(
            "demo-template",
            CoderTemplateArgs(
                BASE_URL,
                "mock-token-Zq81-3f7c9e2a4b6d",
                name="demo",
                directory=DIRECTORY,
                source_root="/work/checkout",
                directory_hash="a" * 64,
                variables={"namespace": "coder-workspaces"},
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )
    )
    registered = mocks.one(TYPE)
    assert is_secret(registered.inputs["token"])
    assert registered.inputs["organization"] == "default"
    assert registered.inputs["activity_bump_ms"] == 3_600_000
    assert registered.inputs["variables"] == {"namespace": "coder-workspaces"}
    assert capture.opts("demo-template").additional_secret_outputs == ["token"]


def test_the_provider_pickles_by_reference_without_a_client_when_serialized_into_state() -> None:
    raw = base64.b64decode(serialize_provider(CoderTemplateProvider()))
    assert b"components.providers.coder_template" in raw
    assert len(raw) < 400, "only the class reference and its settings, no client or archive"
    loaded = dill.loads(raw)
    assert isinstance(loaded, CoderTemplateProvider)
    assert "name" in [f.property for f in loaded.check({}, {"name": "Bad Name"}).failures]


# serialize_provider(CoderTemplateProvider()) when it kept its own copy of ``_client``, before it
# became a TokenAuthenticatedProvider: the same module, class and attributes.
PICKLED_BEFORE_THE_SHARED_CLIENT = (
    "gASVmgAAAAAAAACMI2NvbXBvbmVudHMucHJvdmlkZXJzLmNvZGVyX3RlbXBsYXRllIwVQ29kZXJUZW1wbGF0ZVByb3Zp"
    "ZGVylJOUKYGUfZQojA9fY2xpZW50X2ZhY3RvcnmUTowVX2pvYl9kZWFkbGluZV9zZWNvbmRzlEdAjCAAAAAAAIwRX2pv"
    "Yl9wb2xsX3NlY29uZHOURz/wAAAAAAAAdWIu"
)


def test_old_state_builds_an_authenticated_client_when_loaded_after_the_shared_client() -> None:
    loaded = dill.loads(base64.b64decode(PICKLED_BEFORE_THE_SHARED_CLIENT))
    assert isinstance(loaded, CoderTemplateProvider)
    assert isinstance(loaded, TokenAuthenticatedProvider)
    seen: list[str] = []

    class Client:
        def authenticate(self, token: str) -> None:
            seen.append(token)

    def factory(url: str) -> Any:
        seen.append(url)
        return Client()

    loaded._client_factory = factory
    loaded._client({"url": "http://coder.test", "token": "tok"})
    assert seen == ["http://coder.test", "tok"]
    assert loaded._job_deadline_seconds == DEFAULT_JOB_DEADLINE_SECONDS


# -- lifecycle and security settings --------------------------------------------------------------


def test_state_without_lifecycle_reads_no_change_when_none_is_declared(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    template_id, outs = created(provider, inputs())
    old_state = {key: value for key, value in outs.items() if key != "lifecycle"}
    refreshed = read_outs(provider, template_id, old_state)
    assert provider.diff(template_id, refreshed, inputs()).changes is False
    assert provider.diff(template_id, refreshed, inputs(lifecycle={})).changes is False


def test_a_declared_setting_is_set_at_create_and_a_hand_change_is_taken_back(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    wanted = {"allow_user_cancel_workspace_jobs": False}
    template_id, outs = created(provider, inputs(lifecycle=wanted))
    record = double.template_records[template_id]
    assert record.lifecycle["allow_user_cancel_workspace_jobs"] is False
    refreshed = read_outs(provider, template_id, outs)
    assert provider.diff(template_id, refreshed, inputs(lifecycle=wanted)).changes is False
    record.lifecycle["allow_user_cancel_workspace_jobs"] = True  # changed in the UI
    drifted = read_outs(provider, template_id, outs)
    diff = provider.diff(template_id, drifted, inputs(lifecycle=wanted))
    assert (diff.changes, diff.replaces) == (True, [])
    start = len(double.requests)
    provider.update(template_id, drifted, inputs(lifecycle=wanted))
    assert writes_since(double, start) == [("PATCH", f"/templates/{template_id}")]
    assert record.lifecycle["allow_user_cancel_workspace_jobs"] is False


def test_a_premium_setting_without_its_entitlement_fails_before_any_write(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    wanted = {"require_active_version": True, "failure_ttl_ms": 3_600_000.0}
    start = len(double.requests)
    with pytest.raises(TemplateNotEntitledError) as raised:
        provider.create(inputs(lifecycle=wanted))
    text = str(raised.value)
    assert "'access_control'" in text and "require_active_version" in text
    assert writes_since(double, start) == []
    double.entitle("access_control", "advanced_template_scheduling")
    template_id, _ = created(provider, inputs(lifecycle=wanted))
    record = double.template_records[template_id].lifecycle
    assert (record["require_active_version"], record["failure_ttl_ms"]) == (True, 3_600_000)


SCHEDULE = {
    # As the engine sends them: floats, days in config order.
    "autostop_requirement": {"days_of_week": ["sunday", "saturday"], "weeks": 2.0},
    "autostart_requirement": {"days_of_week": ["friday", "monday"]},
    "max_port_share_level": "authenticated",
}


def test_schedule_requirements_and_port_sharing_converge_then_hand_changes_are_taken_back(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    double.entitle("advanced_template_scheduling", "control_shared_ports")
    template_id, outs = created(provider, inputs(lifecycle=SCHEDULE))
    record = double.template_records[template_id].lifecycle
    assert record["autostop_requirement"] == {"days_of_week": ["saturday", "sunday"], "weeks": 2}
    assert record["autostart_requirement"] == {"days_of_week": ["monday", "friday"]}
    assert record["max_port_share_level"] == "authenticated"
    refreshed = read_outs(provider, template_id, outs)
    assert provider.diff(template_id, refreshed, inputs(lifecycle=SCHEDULE)).changes is False
    start = len(double.requests)
    provider.update(template_id, refreshed, inputs(lifecycle=SCHEDULE))
    assert writes_since(double, start) == [], "converged: zero writes"
    record["autostop_requirement"] = {"days_of_week": [], "weeks": 1}  # changed in the UI
    record["max_port_share_level"] = "public"
    drifted = read_outs(provider, template_id, outs)
    assert provider.diff(template_id, drifted, inputs(lifecycle=SCHEDULE)).changes is True
    provider.update(template_id, drifted, inputs(lifecycle=SCHEDULE))
    assert record["autostop_requirement"] == {"days_of_week": ["saturday", "sunday"], "weeks": 2}
    assert record["max_port_share_level"] == "authenticated"


def test_state_from_before_the_schedule_settings_reads_no_change_when_they_are_not_declared(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    """Old state's lifecycle holds only the settings of its time: none of the new keys."""
    double.entitle("access_control")
    old = {"require_active_version": True}
    template_id, outs = created(provider, inputs(lifecycle=old))
    refreshed = read_outs(provider, template_id, outs)
    assert set(refreshed["lifecycle"]) == {"require_active_version"}
    assert provider.diff(template_id, refreshed, inputs(lifecycle=old)).changes is False


def test_port_sharing_without_its_entitlement_fails_before_any_write(
    provider: CoderTemplateProvider, double: CoderDouble, inputs: Inputs
) -> None:
    start = len(double.requests)
    with pytest.raises(TemplateNotEntitledError, match="'control_shared_ports'"):
        provider.create(inputs(lifecycle={"max_port_share_level": "owner"}))
    assert writes_since(double, start) == []


@pytest.mark.parametrize(
    "lifecycle",
    [
        {"allow_user_autostart": "yes"},
        {"failure_ttl_ms": -1},
        {"no_such_setting": True},
        {"autostop_requirement": {"days_of_week": ["funday"], "weeks": 1}},
        {"autostop_requirement": {"days_of_week": ["monday"], "weeks": 17}},
        {"autostart_requirement": {"days_of_week": ["monday", "monday"]}},
        {"autostart_requirement": {"days_of_week": ["monday"], "weeks": 2}},
        {"max_port_share_level": "everyone"},
    ],
)
def test_check_names_lifecycle_when_a_setting_is_unknown_or_of_the_wrong_type(
    provider: CoderTemplateProvider, inputs: Inputs, lifecycle: dict[str, Any]
) -> None:
    failures = provider.check({}, inputs(lifecycle=lifecycle)).failures
    assert [f.property for f in failures] == ["lifecycle"]
