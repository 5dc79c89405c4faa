"""The one way this project builds an hvac client: redirects are errors, calls are retried
within a bound.

- Redirects. A Vault standby answers 307 with the active node's address (Vault "HA": request
  forwarding off, or a performance standby). hvac follows redirects by default
  (``allow_redirects=True``), through requests, and requests keeps custom headers on a redirect
  to another host: ``X-Vault-Token`` would go to whatever host the ``Location`` names. Here
  hvac is told not to follow, and a redirect answer raises ``VaultRedirectError`` (a
  ``requests.ConnectionError``, so every caller's "Vault did not answer" handling names the
  address), instead of being read as a body.
- Retries. Transport errors and 500/502/503/504 (a sealed or standby node answers 503) are
  retried by urllib3 (``Retry``): 3 retries, 0.5 s backoff doubling, then the last answer
  stands and hvac raises on it. Reads and logins only: a retried login mints a second token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import hvac
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TIMEOUT_SECONDS = 10
RETRIES = 3
BACKOFF_SECONDS = 0.5
RETRYABLE_STATUSES = (500, 502, 503, 504)


class VaultRedirectError(requests.ConnectionError):
    """Vault answered with a redirect, which is never followed (it would carry the token)."""


def _refuse_redirect(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    if response.is_redirect:
        origin = urlsplit(response.url)
        raise VaultRedirectError(
            f"Vault at {origin.scheme}://{origin.netloc} answered with a redirect "
            f"({response.status_code}), which is not followed (it would carry the token to "
            "another host): point vault.address at the active node or its load balancer",
            response=response,
        )


def vault_session() -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=RETRIES,
        backoff_factor=BACKOFF_SECONDS,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=None,  # every method: hvac's reads and logins
        raise_on_status=False,
        redirect=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.hooks["response"].append(_refuse_redirect)
    return session


def vault_client(address: str, token: str | None = None) -> hvac.Client:
    return hvac.Client(
        url=address,
        token=token,
        timeout=TIMEOUT_SECONDS,
        session=vault_session(),
        allow_redirects=False,
    )
