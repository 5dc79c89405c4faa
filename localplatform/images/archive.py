"""A docker-archive tar (what ``docker save`` writes and ``ctr images import`` reads), made here.

The format: ``manifest.json`` (a list of ``{Config, RepoTags, Layers}``), the image config JSON
named by its sha256, and each layer as an uncompressed tar; the config's ``rootfs.diff_ids`` are
the layers' sha256 digests (the OCI image spec's definition of a DiffID). Layers are written
deterministically (sorted, mtime 0, root-owned) so the same inputs give the same image id.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    """One path in the image's filesystem: a file from the host, inline bytes, a dir or a link."""

    path: str  # inside the image, without a leading slash: "operator/manager_amd64"
    source: Path | None = None
    data: bytes | None = None
    mode: int = 0o755
    link: str | None = None  # symlink target
    directory: bool = False


@dataclass(frozen=True)
class ImageSpec:
    """What ``docker-archive`` needs to describe a runnable image."""

    name: str  # repository and tag: "registry.k8s.io/pause:3.10"
    entries: Sequence[Entry]
    entrypoint: Sequence[str]
    cmd: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    user: str = ""
    workdir: str = ""
    base_layers: Sequence[Path] = ()  # uncompressed layer tars below this image's own layer


def _check_name(name: str) -> None:
    repository, _, tag = name.rpartition(":")
    if not repository or not tag or "/" in tag:
        raise ValueError(f"image name {name!r} needs a repository and a tag (repo:tag)")


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def layer_tar(entries: Sequence[Entry]) -> bytes:
    """One layer: every entry and its parent directories, sorted, mtime 0, owned by root."""
    for entry in entries:
        if entry.path.startswith("/") or ".." in entry.path.split("/"):
            raise ValueError(f"image path {entry.path!r} must be relative and stay inside")
    members: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}
    for entry in entries:
        for parent in _parents(entry.path):
            info = tarfile.TarInfo(parent)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            members.setdefault(parent, (info, None))
        info = tarfile.TarInfo(entry.path)
        info.mode = entry.mode
        content: bytes | None = None
        if entry.directory:
            info.type = tarfile.DIRTYPE
        elif entry.link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, entry.link
        else:
            content = entry.data if entry.data is not None else _read(entry)
            info.size = len(content)
        members[entry.path] = (info, content)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(members):
            info, content = members[path]
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def _read(entry: Entry) -> bytes:
    if entry.source is None:
        raise ValueError(f"image path {entry.path!r} has no source, data, link or directory")
    return entry.source.read_bytes()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_archive(spec: ImageSpec, out: Path) -> str:
    """Write ``spec`` as a docker-archive tar at ``out``; return the image id (config digest)."""
    _check_name(spec.name)
    layers = [path.read_bytes() for path in spec.base_layers]
    layers.append(layer_tar(spec.entries))
    diff_ids = [f"sha256:{_digest(layer)}" for layer in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": list(spec.entrypoint),
            "Cmd": list(spec.cmd) or None,
            "Env": [f"{key}={value}" for key, value in sorted(spec.env.items())],
            "User": spec.user,
            "WorkingDir": spec.workdir,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "localplatform.images"} for _ in layers],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = f"{_digest(config_bytes)}.json"
    layer_names = [f"{diff_id.removeprefix('sha256:')}/layer.tar" for diff_id in diff_ids]
    manifest = [{"Config": config_name, "RepoTags": [spec.name], "Layers": layer_names}]
    files = {config_name: config_bytes, "manifest.json": json.dumps(manifest).encode()}
    files.update(zip(layer_names, layers, strict=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, mode="w") as tar:
        for name in sorted(files):
            data = files[name]
            for parent in _parents(name):
                if parent not in files:
                    info = tarfile.TarInfo(parent)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    partial.replace(out)
    return f"sha256:{_digest(config_bytes)}"
