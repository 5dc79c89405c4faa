"""The client's template endpoints against the double, and the double's own Coder rules.

The double must be as strict as Coder where a difference would hide a bug (ustar only, the
upload rate limit, 304 for a no-op settings patch, 400 for a delete while workspaces exist).
"""

from __future__ import annotations

import io
import tarfile

import pytest

from coder_platform.coder_api import CoderApiError, CoderClient, CoderConflictError
from coder_platform.coder_api.errors import (
    CoderJobTimeoutError,
    CoderTemplateInUseError,
    CoderUnreachableError,
)
from coder_platform.coder_api.templates import TemplateMeta
from testbed.coder_double import BASE_URL, CoderDouble, FakeClock

EMAIL = "automation@coder-platform.test"
USERNAME = "coder-automation"
PASSWORD = "double-Pw-5c1e0d9a7b3f4e62"


def tar(fmt: int, name: str = "main.tf", body: bytes = b"# terraform\n") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


@pytest.fixture
def double() -> CoderDouble:
    return CoderDouble()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def owner(double: CoderDouble, clock: FakeClock) -> CoderClient:
    client = CoderClient(BASE_URL, transport=double.transport(), clock=clock)
    client.create_first_user(EMAIL, USERNAME, "", PASSWORD)
    client.authenticate(client.login(EMAIL, PASSWORD))
    return client


def built(owner: CoderClient, data: bytes | None = None, template_id: str | None = None) -> str:
    file_id = owner.upload_file(data or tar(tarfile.USTAR_FORMAT))
    version = owner.create_template_version("default", file_id, template_id=template_id)
    owner.wait_for_version_job(version.id, deadline_seconds=30)
    return version.id


def test_upload_answers_the_same_file_id_when_the_content_was_uploaded_before(
    owner: CoderClient, double: CoderDouble
) -> None:
    data = tar(tarfile.USTAR_FORMAT)
    assert owner.upload_file(data) == owner.upload_file(data)
    assert len(double.files) == 1


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_the_double_refuses_an_archive_when_it_is_not_ustar(owner: CoderClient, fmt: int) -> None:
    long_name = "modules/" + "m" * 120 + ".tf"  # forces a pax or GNU long-name header
    with pytest.raises(CoderApiError) as raised:
        owner.upload_file(tar(fmt, long_name))
    assert raised.value.status == 400


def test_wait_returns_the_finished_version_when_the_job_moves_through_its_states(
    owner: CoderClient, double: CoderDouble, clock: FakeClock
) -> None:
    double.pending_polls, double.running_polls = 2, 3
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT))
    version = owner.create_template_version(
        "default", file_id, message="m", variables={"b": "2", "a": "1"}
    )
    assert version.job is not None and version.job.status == "pending"
    done = owner.wait_for_version_job(version.id, deadline_seconds=30, poll=0.5)
    assert done.job is not None and done.job.succeeded
    assert double.template_versions[version.id].polls == 6
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert double.template_versions[version.id].variables == {"a": "1", "b": "2"}


def test_wait_raises_a_timeout_naming_the_status_when_the_deadline_passes(
    owner: CoderClient, double: CoderDouble, clock: FakeClock
) -> None:
    double.pending_polls = 10**6
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT))
    version = owner.create_template_version("default", file_id)
    with pytest.raises(CoderJobTimeoutError) as raised:
        owner.wait_for_version_job(version.id, deadline_seconds=10, poll=1)
    assert raised.value.last_status == "pending"
    assert sum(clock.sleeps) == pytest.approx(10)


def test_logs_are_the_last_lines_when_a_job_failed(owner: CoderClient, double: CoderDouble) -> None:
    double.fail_next_import([f"line {n}" for n in range(30)])
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT))
    version = owner.create_template_version("default", file_id)
    done = owner.wait_for_version_job(version.id, deadline_seconds=30)
    assert done.job is not None and done.job.status == "failed"
    logs = owner.template_version_logs(version.id, last=3)
    assert [log.output for log in logs] == ["line 27", "line 28", "line 29"]


def test_create_template_conflicts_when_the_name_is_taken(owner: CoderClient) -> None:
    owner.create_template("default", "demo", built(owner), TemplateMeta())
    with pytest.raises(CoderConflictError):
        owner.create_template("default", "demo", built(owner), TemplateMeta())


def test_settings_patch_is_none_when_nothing_changed(owner: CoderClient) -> None:
    settings = TemplateMeta(display_name="Demo", default_ttl_ms=3_600_000)
    template = owner.create_template("default", "demo", built(owner), settings)
    assert owner.update_template_settings(template.id, settings) is None
    changed = owner.update_template_settings(template.id, TemplateMeta(icon="/icon/a.svg"))
    assert changed is not None and changed.icon == "/icon/a.svg"
    assert changed.display_name == ""


def test_activation_is_refused_when_the_version_belongs_to_another_template(
    owner: CoderClient,
) -> None:
    first = owner.create_template("default", "first", built(owner), TemplateMeta())
    second = owner.create_template("default", "second", built(owner), TemplateMeta())
    with pytest.raises(CoderApiError) as raised:
        owner.activate_version(first.id, second.active_version_id)
    assert raised.value.status == 400


def test_delete_raises_in_use_with_the_count_when_workspaces_exist(
    owner: CoderClient, double: CoderDouble
) -> None:
    template = owner.create_template("default", "demo", built(owner), TemplateMeta())
    double.add_workspace("demo", "one")
    double.add_workspace("demo", "two")
    double.add_workspace("demo", "three")
    with pytest.raises(CoderTemplateInUseError) as raised:
        owner.delete_template(template.id, "demo")
    assert (raised.value.workspace_count, raised.value.template) == (3, "demo")
    assert owner.template_workspace_count("demo") == 3
    assert owner.get_template(template.id) is not None


def test_a_deleted_template_is_gone_by_id_and_by_name_and_frees_the_name(
    owner: CoderClient,
) -> None:
    template = owner.create_template("default", "demo", built(owner), TemplateMeta())
    assert owner.delete_template(template.id, "demo") is True
    assert owner.get_template(template.id) is None
    assert owner.get_template_by_name("default", "demo") is None
    assert owner.delete_template(template.id, "demo") is False
    again = owner.create_template("default", "demo", built(owner), TemplateMeta())
    assert again.id != template.id


def test_a_template_version_post_whose_answer_was_lost_is_not_sent_again_when_it_landed(
    owner: CoderClient, double: CoderDouble
) -> None:
    template = owner.create_template("default", "docker", built(owner), TemplateMeta())
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT, body=b"# v2\n"))
    before = len(owner.list_template_versions(template.id))
    double.lose_next_answer()

    version = owner.create_template_version(
        "default", file_id, template_id=template.id, message="v2"
    )

    versions = owner.list_template_versions(template.id)
    assert len(versions) == before + 1  # one version, not two
    assert version.id in {v.id for v in versions}
    assert double.count("POST", "/organizations/default/templateversions") == 2  # v1 and v2 once


def test_a_template_version_post_whose_answer_was_lost_is_sent_again_when_it_did_not_land(
    owner: CoderClient, double: CoderDouble
) -> None:
    template = owner.create_template("default", "docker", built(owner), TemplateMeta())
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT, body=b"# v2\n"))
    before = len(owner.list_template_versions(template.id))
    double.fail_next(504)  # a gateway timed out: whether coderd saw it is unknown, and it did not

    version = owner.create_template_version(
        "default", file_id, template_id=template.id, message="v2"
    )

    versions = owner.list_template_versions(template.id)
    assert len(versions) == before + 1
    assert version.id in {v.id for v in versions}


def test_a_post_whose_answer_was_lost_is_not_retried_blindly_when_nothing_can_check_it(
    owner: CoderClient, double: CoderDouble
) -> None:
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT, body=b"# new\n"))
    posts = double.count("POST", "/organizations/default/templateversions")
    double.lose_next_answer()

    with pytest.raises(CoderUnreachableError) as lost:
        owner.create_template_version("default", file_id)  # no template: nothing lists it

    assert lost.value.maybe_applied
    assert "may have been applied" in str(lost.value)
    assert double.count("POST", "/organizations/default/templateversions") == posts + 1


def test_a_post_that_never_reached_coder_is_retried_when_the_connection_was_refused(
    owner: CoderClient, double: CoderDouble
) -> None:
    file_id = owner.upload_file(tar(tarfile.USTAR_FORMAT, body=b"# new\n"))
    double.drop_next()

    version = owner.create_template_version("default", file_id)

    assert version.id
