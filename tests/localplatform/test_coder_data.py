"""Coder's data after a restore: the same ids answer, and a re-seed (same names, new ids) or a
lost row is named, because that is the difference between a restore and a reseed."""

from __future__ import annotations

import json

import httpx
import pytest

from localplatform.coder_data import (
    SESSION_HEADER,
    CoderData,
    build_workspace,
    coder_api,
    read_coder_data,
)

BEFORE = CoderData(
    templates={"hello": ("t-1", "v-2")},
    users={"coder-automation": "u-1", "platform-admin": "u-2"},
    workspaces={"incident-drill": ("w-1", "b-1")},
)


def test_nothing_differs_when_the_same_ids_answer_even_with_rows_written_since() -> None:
    later = CoderData(
        templates=BEFORE.templates,
        users={**BEFORE.users, "newcomer": "u-9"},
        workspaces=BEFORE.workspaces,
    )
    assert BEFORE.differences(later) == []


def test_a_reseed_is_named_when_the_names_come_back_under_new_ids() -> None:
    reseeded = CoderData(
        templates={"hello": ("t-7", "v-8")},
        users={"coder-automation": "u-5", "platform-admin": "u-2"},
        workspaces={},
    )
    assert BEFORE.differences(reseeded) == [
        "template hello: ('t-1', 'v-2') before, ('t-7', 'v-8') now",
        "user coder-automation: u-1 before, u-5 now",
        "workspace incident-drill: missing",
    ]


def _coder(handler_log: list[httpx.Request], statuses: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        handler_log.append(request)
        path = request.url.path
        if path == "/api/v2/templates":
            return httpx.Response(
                200, json=[{"id": "t-1", "name": "hello", "active_version_id": "v-2"}]
            )
        if path == "/api/v2/users":
            return httpx.Response(
                200,
                json={
                    "users": [
                        {"id": "u-1", "username": "coder-automation"},
                        {"id": "u-2", "username": "platform-admin"},
                    ],
                    "count": 2,
                },
            )
        if path == "/api/v2/workspaces":
            return httpx.Response(
                200,
                json={
                    "workspaces": [
                        {"id": "w-1", "name": "incident-drill", "latest_build": {"id": "b-1"}}
                    ],
                    "count": 1,
                },
            )
        if path == "/api/v2/users/me/workspaces" and request.method == "POST":
            return httpx.Response(201, json={"id": "w-1"})
        if path == "/api/v2/workspaces/w-1":
            status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return httpx.Response(
                200, json={"latest_build": {"id": "b-1", "job": {"status": status}}}
            )
        return httpx.Response(404, json={"message": "not found"})

    return httpx.MockTransport(handle)


def _api(transport: httpx.MockTransport) -> httpx.Client:
    return coder_api("http://coder.test/", "token-not-real", transport)


def test_the_snapshot_holds_the_ids_coder_answers_with_the_session_token() -> None:
    log: list[httpx.Request] = []
    with _api(_coder(log, ["succeeded"])) as api:
        assert read_coder_data(api) == BEFORE
    assert {r.headers[SESSION_HEADER] for r in log} == {"token-not-real"}


def test_a_workspace_build_is_awaited_until_its_job_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)
    log: list[httpx.Request] = []
    with _api(_coder(log, ["pending", "running", "succeeded"])) as api:
        assert build_workspace(api, "t-1", "incident-drill", deadline=60) == "succeeded"
    [create] = [r for r in log if r.method == "POST"]
    assert json.loads(create.content) == {"template_id": "t-1", "name": "incident-drill"}
    assert len([r for r in log if r.url.path == "/api/v2/workspaces/w-1"]) == 3


def test_a_snapshot_raises_while_coder_does_not_answer_with_its_data() -> None:
    failing = httpx.MockTransport(lambda request: httpx.Response(500, json={"message": "db"}))
    with _api(failing) as api, pytest.raises(httpx.HTTPStatusError):
        read_coder_data(api)
