"""Stand-ins for the operator charts, served as a Helm repository on loopback.

The CloudNativePG chart repository is not reachable from this machine, so the operators stack
installs charts of the same names and versions from here: what each renders is what matters
for least privilege, not the operator itself (no kubelet runs one). The CNPG stand-in renders
the real chart's service account name (``<release>-cloudnative-pg``) bound to a cluster-wide
ClusterRole (Secrets in every namespace, ``pods/exec``), as the real operator's is, and the
webhook certificate Secret; every object is ready at once, so Helm's ``atomic`` wait passes
without a kubelet. Only the names and the cluster-wide grant are the real charts'.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

CNPG_TEMPLATES = {
    "serviceaccount.yaml": """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
  namespace: {{ .Release.Namespace }}
""",
    "webhook-cert.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-webhook-cert
  namespace: {{ .Release.Namespace }}
stringData:
  tls.key: stand-in
""",
    "rbac.yaml": """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
rules:
  - apiGroups: [""]
    resources: [secrets, pods, pods/exec]
    verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ .Release.Name }}-{{ .Chart.Name }}
subjects:
  - kind: ServiceAccount
    name: {{ .Release.Name }}-{{ .Chart.Name }}
    namespace: {{ .Release.Namespace }}
""",
}
BARMAN_TEMPLATES = {
    "serviceaccount.yaml": CNPG_TEMPLATES["serviceaccount.yaml"],
    "config.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  namespace: {{ .Release.Namespace }}
data:
  stand-in: "true"
""",
}


def _package(name: str, version: str, templates: dict[str, str]) -> bytes:
    files = {
        "Chart.yaml": yaml.safe_dump({"apiVersion": "v2", "name": name, "version": version}),
        **{f"templates/{file}": text for file, text in templates.items()},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_repository(directory: Path, versions: dict[str, str]) -> None:
    """``index.yaml`` and one ``.tgz`` per chart (``cloudnative-pg``, ``plugin-barman-cloud``)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, templates in (
        ("cloudnative-pg", CNPG_TEMPLATES),
        ("plugin-barman-cloud", BARMAN_TEMPLATES),
    ):
        version = versions[name]
        package = _package(name, version, templates)
        file = f"{name}-{version}.tgz"
        (directory / file).write_bytes(package)
        entries[name] = [
            {
                "apiVersion": "v2",
                "name": name,
                "version": version,
                "urls": [file],
                "digest": hashlib.sha256(package).hexdigest(),
                "created": "2026-01-01T00:00:00Z",
            }
        ]
    index = {"apiVersion": "v1", "entries": entries, "generated": "2026-01-01T00:00:00Z"}
    (directory / "index.yaml").write_text(yaml.safe_dump(index))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """The repository's URL on loopback while the block runs."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
