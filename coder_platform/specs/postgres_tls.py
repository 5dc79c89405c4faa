"""How clients verify the CNPG database server: ``sslmode=verify-full`` against the cluster's CA.

``sslmode=require`` encrypts to whoever answers on the Service's address; ``verify-full`` checks
that the server's certificate chains to the cluster's CA *and* names the host connected to.
CloudNativePG (pinned ``cloudnative-pg`` v1.30.0) provides both halves:

- the CA: the Secret ``<cluster>-ca`` (``Cluster.GetServerCASecretName``), key ``ca.crt``
  (``certs.CACertKey``), created by the operator before it writes ``status.certificates``;
- the names: the server certificate's DNS names are, for the read-write Service ``<cluster>-rw``,
  ``<cluster>-rw``, ``<cluster>-rw.<ns>``, ``<cluster>-rw.<ns>.svc`` and
  ``<cluster>-rw.<ns>.svc.<cluster domain>`` (``Cluster.GetClusterAltDNSNames``), so the host
  every client here uses, :func:`rw_host`, is one of them.

The operator renews its CA before expiry with the same private key and subject (``renewCASecret``
re-signs the existing key), so a copy of ``ca.crt`` keeps verifying the renewed server
certificate until the copied CA itself expires; the program refreshes its copy on every run.
The program and the restore drill share these facts from here; the policy pack, which cannot
import the program, checks URIs with its own ``policy.lib.postgres_uri`` (same constants, held
equal by ``tests/policy/test_contracts_copy.py``).
"""

from __future__ import annotations

from urllib.parse import urlencode

# CloudNativePG's names (see the module docstring for their source).
CA_SECRET_SUFFIX = "-ca"
CA_KEY = "ca.crt"
RW_SERVICE_SUFFIX = "-rw"

VERIFIED_SSLMODE = "verify-full"
POSTGRES_SCHEMES = ("postgres", "postgresql")

# Where a client pod finds the copied CA: Coder mounts its copy here (read-only).
CA_MOUNT_DIR = "/etc/coder-platform/db-ca"
CA_MOUNT_FILE = f"{CA_MOUNT_DIR}/{CA_KEY}"


def ca_secret_name(cluster: str) -> str:
    """The Secret CloudNativePG keeps the cluster's server CA in (key :data:`CA_KEY`)."""
    return f"{cluster}{CA_SECRET_SUFFIX}"


def rw_host(cluster: str, namespace: str) -> str:
    """The read-write Service's ``.svc`` name: a DNS name of the server certificate."""
    return f"{cluster}{RW_SERVICE_SUFFIX}.{namespace}.svc"


def verified_query(root_cert: str = CA_MOUNT_FILE) -> str:
    """The libpq URI query that verifies the server: the CA file and ``verify-full``."""
    return urlencode({"sslmode": VERIFIED_SSLMODE, "sslrootcert": root_cert}, safe="/")
