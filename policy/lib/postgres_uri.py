"""Whether a PostgreSQL connection URI verifies its server: the one implementation of the check.

The program builds its URIs from ``coder_platform.specs.postgres_tls`` (whose constants
``tests/policy/test_contracts_copy.py`` holds equal to these); the pack runs in its own
virtualenv and cannot import it, and the program needs no check of its own: the pack judges
every URI a stack writes, and the program's tests ask the pack.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

VERIFIED_SSLMODE = "verify-full"
POSTGRES_SCHEMES = ("postgres", "postgresql")


def tls_problem(uri: str, require_root_cert: bool = True) -> str | None:
    """Why ``uri`` does not verify its server, or None (also for text that is no PostgreSQL URI).

    Names only the TLS parameters, never the URI: it carries the password. Without
    ``require_root_cert`` a URI may leave the CA to libpq's default (``~/.postgresql/root.crt``).
    """
    try:
        parts = urlsplit(uri.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in POSTGRES_SCHEMES:
        return None
    params = parse_qs(parts.query)
    modes = params.get("sslmode") or []
    if modes != [VERIFIED_SSLMODE]:
        found = f"sslmode={','.join(modes)}" if modes else "no sslmode (libpq's default: prefer)"
        return f"{found}, not sslmode={VERIFIED_SSLMODE}"
    if require_root_cert and not (params.get("sslrootcert") or [""])[0]:
        return "sslmode=verify-full without sslrootcert (the CA to verify against)"
    return None
