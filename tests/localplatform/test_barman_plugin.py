"""The Barman Cloud plugin's upstream manifest on a node without a registry or cert-manager."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from localplatform import barman_plugin
from localplatform.images import catalog
from localplatform.kubeapply import ApplyError

# The shape of plugin-barman-cloud's manifest.yaml, cut down.
MANIFEST = """
apiVersion: v1
kind: Secret
metadata: {name: plugin-barman-cloud-8tfddg42gf, namespace: cnpg-system}
data:
  SIDECAR_IMAGE: Z2hjci5pby9jbG91ZG5hdGl2ZS1wZy9wbHVnaW4tYmFybWFuLWNsb3VkLXNpZGVjYXI6bWFpbg==
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: barman-cloud, namespace: cnpg-system}
spec:
  template:
    spec:
      containers:
        - name: barman-cloud
          image: ghcr.io/cloudnative-pg/plugin-barman-cloud-testing:main
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: barman-cloud-server, namespace: cnpg-system}
spec: {secretName: barman-cloud-server-tls}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned-issuer, namespace: cnpg-system}
spec: {selfSigned: {}}
"""


def test_the_plugin_runs_the_local_images_without_cert_manager_objects() -> None:
    objects = barman_plugin.plugin_objects(MANIFEST, "v0.14.0")
    assert [o["kind"] for o in objects] == ["Secret", "Deployment"]
    secret, deployment = objects
    sidecar = base64.b64decode(secret["data"]["SIDECAR_IMAGE"]).decode()
    assert sidecar == catalog.barman_cloud_sidecar_name("v0.14.0")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == catalog.barman_cloud_plugin_name("v0.14.0")
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_a_manifest_without_the_plugins_deployment_is_refused_naming_it() -> None:
    with pytest.raises(ApplyError, match="barman-cloud"):
        barman_plugin.plugin_objects(MANIFEST.split("---", maxsplit=1)[0], "v0.14.0")


def _cert(secret: dict[str, object], key: str) -> x509.Certificate:
    data = secret["data"]
    assert isinstance(data, dict)
    return x509.load_pem_x509_certificate(base64.b64decode(data[key]))


def test_the_tls_secrets_are_what_cnpg_and_the_plugin_verify_each_other_with() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    server, client = barman_plugin.tls_secrets(now)
    assert server["metadata"]["name"] == barman_plugin.SERVER_SECRET
    assert client["metadata"]["name"] == barman_plugin.CLIENT_SECRET
    assert server["type"] == client["type"] == "kubernetes.io/tls"
    server_cert = _cert(server, "tls.crt")
    # CNPG dials the Service and checks the certificate for the Service's name.
    names = server_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [barman_plugin.SERVICE]
    usages = server_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    client_cert = _cert(client, "tls.crt")
    usages = client_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    # Self-signed (each trusts the other's certificate itself), as a selfSigned Issuer makes.
    for cert in (server_cert, client_cert):
        assert cert.issuer == cert.subject
        cert.verify_directly_issued_by(cert)
        assert cert.not_valid_after_utc - now > dt.timedelta(days=89)
    assert _cert(server, "ca.crt") == server_cert
