"""The hvac client every Vault read and login goes through, against real HTTP servers on
loopback: a redirect is an error and the token never reaches the host it names; a 503 (a sealed
or standby node) is retried within a bound."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from automation.errors import DependencyUnreachableError
from automation.observe.vault_access import PublishedTokenReader
from coder_platform.vault_http import RETRIES, VaultRedirectError, vault_client
from coder_platform.vault_inputs import HvacKvReader, VaultInputError

TOKEN = "hvs.the-runners-token-do-not-leak"


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with ``server.answers`` (status, headers, body) in turn."""

    server: Any

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("X-Vault-Token")))
        status, headers, body = self.server.answers.pop(0) if self.server.answers else (
            200, {}, b'{"data": {"data": {"token": "t"}}}'
        )  # fmt: skip
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def serve() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.answers = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    standby, elsewhere = serve(), serve()
    yield standby, elsewhere
    for server in (standby, elsewhere):
        server.shutdown()
        server.server_close()


def url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_redirect_is_refused_and_the_token_never_reaches_the_host_it_names(
    servers: tuple[ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    standby, elsewhere = servers
    location = f"{url(elsewhere)}/v1/platform/data/coder/bootstrap-admin"
    standby.answers.append((307, {"Location": location}, b""))  # type: ignore[attr-defined]

    with pytest.raises(VaultInputError) as caught:
        HvacKvReader(url(standby), TOKEN).read("platform", "coder/bootstrap-admin")

    assert elsewhere.seen == []  # type: ignore[attr-defined]
    assert url(standby) in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_the_runners_reads_refuse_a_redirect_the_same_way(
    servers: tuple[ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    standby, elsewhere = servers
    standby.answers.append((307, {"Location": f"{url(elsewhere)}/v1/x"}, b""))  # type: ignore[attr-defined]

    with pytest.raises(DependencyUnreachableError):
        PublishedTokenReader(url(standby), TOKEN, "platform", "coder/cli")()

    assert elsewhere.seen == []  # type: ignore[attr-defined]


def test_the_redirect_error_says_what_to_do_and_names_no_secret(
    servers: tuple[ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    standby, elsewhere = servers
    standby.answers.append((307, {"Location": f"{url(elsewhere)}/v1/x"}, b""))  # type: ignore[attr-defined]

    with pytest.raises(VaultRedirectError) as caught:
        vault_client(url(standby), TOKEN).secrets.kv.v2.read_secret_version(
            path="x", mount_point="platform", raise_on_deleted_version=True
        )

    assert "not followed" in str(caught.value) and "vault.address" in str(caught.value)
    assert isinstance(caught.value, requests.ConnectionError)
    assert TOKEN not in str(caught.value)


def test_a_sealed_node_is_retried_and_the_read_succeeds_once_it_answers(
    servers: tuple[ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    standby, _ = servers
    standby.answers.extend([(503, {}, b'{"errors": ["sealed"]}')] * 2)  # type: ignore[attr-defined]

    data = HvacKvReader(url(standby), TOKEN).read("platform", "coder/bootstrap-admin")

    assert data == {"token": "t"}
    assert len(standby.seen) == 3  # type: ignore[attr-defined]


def test_a_node_that_stays_sealed_is_given_up_on_after_the_bound(
    servers: tuple[ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    standby, _ = servers
    standby.answers.extend([(503, {}, b'{"errors": ["sealed"]}')] * 10)  # type: ignore[attr-defined]

    with pytest.raises(VaultInputError, match="unreachable"):
        HvacKvReader(url(standby), TOKEN).read("platform", "coder/bootstrap-admin")

    assert len(standby.seen) == RETRIES + 1  # type: ignore[attr-defined]
