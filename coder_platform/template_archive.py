"""A Coder template directory as a deterministic ustar archive, and its content hash.

Why deterministic: ``coder templates push`` uploads a fresh archive and creates a new template
version on every run, even when nothing changed (coder/coder#15180). The ``CoderTemplate``
resource takes ``directory_hash`` as an input instead, so a new version is made only when the
content changes; the archive itself must then be the same bytes for the same content (sorted
entries, mtime 0, owner 0/0 with empty names, modes normalised to 0644/0755).

What goes in follows coderd's own rules (``provisionersdk.Tar``): hidden files and folders are
left out except ``.terraform.lock.hcl``, and so are ``.terraform/``, any path containing
``.tfstate``, and ``terraform.tfvars(.json)`` / ``*.auto.tfvars(.json)`` (variables travel as
``user_variable_values``, not in the archive). The format is ustar (``tarfile.USTAR_FORMAT``):
Coder reads ustar, and Python's default (pax) adds extended headers it does not expect. Coder
caps uploads at 100 MiB and needs at least one top-level ``.tf`` or ``.tf.json`` file.

Bad input is refused before anything is read: a template directory, or the folder holding it
(``templates/``), that is a symlink (it would archive files from outside the repository), a
symlink inside it, and a file, or a total, over the upload cap (sizes come from ``lstat``, so a
huge file never reaches memory: the run would be OOM-killed holding the stack lock).

Pure: no Pulumi, no network; the program hashes at preview, the provider archives at apply.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
DIRECTORY_MODE = 0o755
KEPT_HIDDEN = frozenset({".terraform.lock.hcl"})
TFVARS_NAMES = frozenset({"terraform.tfvars", "terraform.tfvars.json"})
TFVARS_SUFFIXES = (".auto.tfvars", ".auto.tfvars.json")
TERRAFORM_SUFFIXES = (".tf", ".tf.json")


class TemplateDirectoryError(ValueError):
    """The directory cannot become a Coder template archive; the message names it and the fix."""


@dataclass(frozen=True)
class TemplateEntry:
    """One archive member: a folder (``content`` None) or a regular file."""

    path: str  # relative, ``/``-separated; folders end with ``/`` in the archive only
    mode: int
    content: bytes | None

    @property
    def is_dir(self) -> bool:
        return self.content is None


def is_excluded(relative: PurePosixPath) -> bool:
    """coderd's exclusion rules, applied to a path relative to the template directory."""
    if any(part.startswith(".") and part not in KEPT_HIDDEN for part in relative.parts):
        return True
    if ".tfstate" in relative.as_posix():
        return True
    name = relative.name
    return name in TFVARS_NAMES or name.endswith(TFVARS_SUFFIXES)


def _collect(directory: Path, path: Path, entries: list[TemplateEntry]) -> bool:
    """Append the entry for ``path`` unless it is excluded; False when it is excluded."""
    relative = PurePosixPath(path.relative_to(directory).as_posix())
    if is_excluded(relative):
        return False
    if path.is_symlink():
        raise TemplateDirectoryError(
            f"template directory {directory} holds a symlink ({relative}): Coder archives "
            "regular files only; replace the link with a copy of its target"
        )
    if path.is_dir():
        entries.append(TemplateEntry(relative.as_posix(), DIRECTORY_MODE, None))
    elif path.is_file():
        status = path.lstat()
        total = status.st_size + sum(len(e.content) for e in entries if e.content is not None)
        if total > MAX_ARCHIVE_BYTES:
            raise TemplateDirectoryError(
                f"template directory {directory}: {relative} ({status.st_size} bytes) takes the "
                f"template past Coder's {MAX_ARCHIVE_BYTES}-byte upload cap: move large files "
                "out of the template"
            )
        mode = EXECUTABLE_MODE if status.st_mode & 0o100 else FILE_MODE
        entries.append(TemplateEntry(relative.as_posix(), mode, path.read_bytes()))
    return True


def _refuse_links(directory: Path) -> None:
    """The template directory and the folder holding it must be real folders: through a link,
    the archive would carry whatever the link points at (another repository, /etc)."""
    for folder in (directory, directory.parent):
        if folder.is_symlink():
            raise TemplateDirectoryError(
                f"template directory {directory}: {folder} is a symlink; templates are archived "
                "from real folders inside the repository only: replace the link with the folder"
            )


def template_entries(directory: Path) -> list[TemplateEntry]:
    """Every archived folder and file, sorted by path (the archive's and the hash's order)."""
    _refuse_links(directory)
    if not directory.is_dir():
        raise TemplateDirectoryError(
            f"template directory {directory} does not exist or is not a directory: "
            "point the template at a folder under templates/"
        )
    entries: list[TemplateEntry] = []
    for root, folders, files in os.walk(directory):
        base = Path(root)
        # Prune excluded folders here: .terraform/ can hold hundreds of MB of providers.
        folders[:] = [name for name in folders if _collect(directory, base / name, entries)]
        for name in files:
            _collect(directory, base / name, entries)
    entries.sort(key=lambda entry: entry.path)
    if not any(
        "/" not in entry.path and not entry.is_dir and entry.path.endswith(TERRAFORM_SUFFIXES)
        for entry in entries
    ):
        raise TemplateDirectoryError(
            f"template directory {directory} has no top-level .tf or .tf.json file: Coder "
            "needs the template's Terraform at the top of the directory"
        )
    return entries


def hash_entries(entries: list[TemplateEntry]) -> str:
    """sha256 over each file's name and content, in path order. Names are included (unlike
    coderd's hash) so that a rename is a change; folders and modes are not content."""
    digest = hashlib.sha256()
    for entry in entries:
        if entry.content is None:
            continue
        name = entry.path.encode()
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(entry.content).to_bytes(8, "big") + entry.content)
    return digest.hexdigest()


def directory_hash(directory: Path | str) -> str:
    """The content hash of a template directory (hex sha256); see ``hash_entries``."""
    return hash_entries(template_entries(Path(directory)))


def archive_entries(directory: Path, entries: list[TemplateEntry]) -> bytes:
    """The ustar archive of these entries: same entries, same bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(f"{entry.path}/" if entry.is_dir else entry.path)
            info.mode = entry.mode
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.content is None:
                info.type = tarfile.DIRTYPE
                content = None
            else:
                info.size = len(entry.content)
                content = io.BytesIO(entry.content)
            try:
                archive.addfile(info, content)
            except ValueError:
                raise TemplateDirectoryError(
                    f"template directory {directory}: the path {entry.path} is too long for a "
                    "ustar archive (name at most 100 bytes after a 155-byte folder): shorten it"
                ) from None
    data = buffer.getvalue()
    if len(data) > MAX_ARCHIVE_BYTES:
        raise TemplateDirectoryError(
            f"template directory {directory} archives to {len(data)} bytes, over Coder's "
            f"{MAX_ARCHIVE_BYTES}-byte upload cap: move large files out of the template"
        )
    return data


@dataclass(frozen=True)
class TemplateArchive:
    """A template directory's archive bytes and the content hash they were built from."""

    data: bytes
    content_hash: str


def build_archive(directory: Path | str) -> TemplateArchive:
    """Read the directory once; archive and hash the same entries (no race between them)."""
    path = Path(directory)
    entries = template_entries(path)
    return TemplateArchive(archive_entries(path, entries), hash_entries(entries))
