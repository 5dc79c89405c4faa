"""The Barman Cloud plugin (cloudnative-pg/plugin-barman-cloud) on the local node: its own
``manifest.yaml`` from the pinned module, with the images built here and the two TLS Secrets
made here instead of by cert-manager.

Upstream's manifest asks cert-manager (a self-signed ``Issuer`` and two ``Certificate`` objects)
for the Secrets ``barman-cloud-server-tls`` and ``barman-cloud-client-tls``, and nothing else of
it. What reads them: CloudNativePG's plugin controller trusts the server Secret's ``tls.crt``
as the root for the plugin's Service (server name: the Service's name, ``barman-cloud``) and
presents the client Secret's pair; the plugin (``--client-cert=/client/tls.crt``) trusts that
client certificate. Building cert-manager (three controllers, a webhook, its CRDs) to issue two
self-signed certificates once is far more than making the same two certificates here, as
cert-manager's ``selfSigned`` issuer would (each its own issuer, ``ca.crt`` = ``tls.crt``).
They are made once, when the Secret is absent, so a restart does not re-key a running plugin.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from localplatform.images import catalog
from localplatform.kubeapply import ApplyError, documents

MODULE = "github.com/cloudnative-pg/plugin-barman-cloud"
NAMESPACE = "cnpg-system"
# The Deployment and the Service of upstream's manifest; CNPG dials the Service by this name
# and checks the server certificate for it.
SERVICE = "barman-cloud"
SERVER_SECRET = "barman-cloud-server-tls"
CLIENT_SECRET = "barman-cloud-client-tls"
CLIENT_COMMON_NAME = "barman-cloud-client"
# cert-manager's Certificate duration in upstream's manifest (2160h).
VALIDITY = dt.timedelta(hours=2160)


def self_signed(
    common_name: str, dns_names: list[str], usage: x509.ObjectIdentifier, now: dt.datetime
) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key, PEM (what a ``selfSigned`` Issuer issues)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def tls_secrets(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The two ``kubernetes.io/tls`` Secrets upstream's Certificates would have written."""
    now = now or dt.datetime.now(dt.UTC)
    made = {
        SERVER_SECRET: self_signed(SERVICE, [SERVICE], ExtendedKeyUsageOID.SERVER_AUTH, now),
        CLIENT_SECRET: self_signed(CLIENT_COMMON_NAME, [], ExtendedKeyUsageOID.CLIENT_AUTH, now),
    }
    secrets = []
    for name, (cert, key) in made.items():
        data = {"tls.crt": cert, "tls.key": key, "ca.crt": cert}
        secrets.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
            }
        )
    return secrets


def plugin_objects(source: str, version: str) -> list[dict[str, Any]]:
    """Upstream's manifest without cert-manager's objects, running the images built here:
    the plugin's own, and the sidecar it injects into instance pods (``SIDECAR_IMAGE``)."""
    objects = []
    for obj in documents(source):
        if obj["apiVersion"].startswith("cert-manager.io/"):
            continue
        if obj["kind"] == "Secret" and "SIDECAR_IMAGE" in (obj.get("data") or {}):
            image = catalog.barman_cloud_sidecar_name(version)
            obj["data"]["SIDECAR_IMAGE"] = base64.b64encode(image.encode()).decode()
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                container["image"] = catalog.barman_cloud_plugin_name(version)
                container["imagePullPolicy"] = "IfNotPresent"
        objects.append(obj)
    if not any(o["kind"] == "Deployment" and o["metadata"]["name"] == SERVICE for o in objects):
        raise ApplyError(f"{MODULE} manifest.yaml has no Deployment {SERVICE!r}")
    return objects


def create_missing_tls_secrets(client: httpx.Client) -> None:
    """Create each TLS Secret that is absent; an existing one (a restart) is kept."""
    base = f"/api/v1/namespaces/{NAMESPACE}/secrets"
    for secret in tls_secrets():
        name = secret["metadata"]["name"]
        if client.get(f"{base}/{name}").status_code == 200:
            continue
        response = client.post(base, json=secret)
        if response.status_code not in (201, 409):
            # The body may echo the Secret: name it, never print it.
            raise ApplyError(f"creating Secret {NAMESPACE}/{name}: {response.status_code}")
