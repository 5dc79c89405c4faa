"""A rootfs from installed Debian packages: their files plus the shared libraries they load.

Following the packages' declared dependencies would pull in perl, debconf and the whole
postgresql-common tooling; a container needs only the binaries it runs and what the dynamic
loader resolves for them (``ldd``), so that is what is copied. Paths are laid out usr-merged
(Debian 12: ``/bin`` -> ``usr/bin``, ``/lib`` -> ``usr/lib``, ...), as the host is.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from localplatform.images.archive import Entry

USR_MERGED = ("bin", "sbin", "lib", "lib64")
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def installed_version(package: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    if out.returncode != 0 or not out.stdout:
        raise ValueError(f"Debian package {package!r} is not installed (apt-get install {package})")
    return out.stdout


def package_files(packages: Iterable[str]) -> list[Path]:
    """Every regular file and symlink the packages installed (``dpkg -L``)."""
    files: list[Path] = []
    for package in packages:
        installed_version(package)
        out = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            path = Path(line)
            # Not directories, nor the host's usr-merge links (/bin, /lib64 are in dpkg's lists).
            if not path.is_dir() and (path.is_symlink() or path.is_file()):
                files.append(path)
    return files


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def shared_libraries(binaries: Iterable[Path]) -> set[Path]:
    """What the dynamic loader maps for each ELF file (the loader itself included)."""
    libraries: set[Path] = set()
    for binary in binaries:
        if binary.is_symlink() or not is_elf(binary):
            continue
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
        libraries.update(Path(match) for match in _LDD_PATH.findall(out.stdout))
    return libraries


def image_path(host_path: Path) -> str:
    """Where a host file goes in the image: relative, under ``usr/`` for the merged dirs."""
    parts = host_path.parts[1:]
    if parts and parts[0] in USR_MERGED:
        parts = ("usr", *parts)
    return "/".join(parts)


def rootfs(files: Iterable[Path]) -> list[Entry]:
    """Entries for ``files`` and, for each symlink among them, its target too; plus the
    usr-merge links and a world-writable ``/tmp``."""
    entries: dict[str, Entry] = {}
    pending = list(files)
    while pending:
        path = pending.pop()
        key = image_path(path)
        if key in entries or path.is_dir():
            continue
        if path.is_symlink():
            target = os.readlink(path)
            entries[key] = Entry(key, link=target)
            pending.append(Path(os.path.normpath(path.parent / target)))
        elif path.is_file():
            entries[key] = Entry(key, source=path, mode=path.stat().st_mode & 0o7777)
    for name in USR_MERGED:
        entries[name] = Entry(name, link=f"usr/{name}")
    entries["tmp"] = Entry("tmp", directory=True, mode=0o1777)
    return list(entries.values())
