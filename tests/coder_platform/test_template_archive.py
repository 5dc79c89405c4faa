"""The template archive: same content, same bytes and hash; coderd's exclusions; ustar only.

Why it matters: the content hash is what decides whether ``CoderTemplate`` makes a new template
version, so anything that changes it without changing the template (a checkout's mtimes, a local
``.terraform/`` or state file) would bring back the churn of ``coder templates push``.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from coder_platform.config import ConfigError
from coder_platform.template_archive import (
    MAX_ARCHIVE_BYTES,
    TemplateDirectoryError,
    build_archive,
    directory_hash,
)
from coder_platform.template_sources import discover
from testbed.coder_double.templates import is_ustar

REPO_TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "kubernetes-devcontainer"


def write(root: Path, relative: str, text: str = "x") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def template(tmp_path: Path) -> Path:
    root = tmp_path / "tpl"
    write(root, "main.tf", 'resource "null_resource" "a" {}\n')
    write(root, "README.md", "# docs\n")
    write(root, "scripts/setup.sh", "#!/bin/sh\necho hi\n").chmod(0o755)
    return root


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        return archive.getmembers()


def test_archive_is_the_same_bytes_when_built_twice(template: Path) -> None:
    first, second = build_archive(template), build_archive(template)
    assert first.data == second.data
    assert first.content_hash == second.content_hash == directory_hash(template)


def test_archive_and_hash_ignore_mtimes_when_files_are_touched(template: Path) -> None:
    before = build_archive(template)
    for path in template.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    after = build_archive(template)
    assert after.data == before.data
    assert after.content_hash == before.content_hash


def test_archive_is_ustar_with_sorted_normalised_entries_when_built(template: Path) -> None:
    data = build_archive(template).data
    assert is_ustar(data)
    found = members(data)
    assert [m.name for m in found] == ["README.md", "main.tf", "scripts", "scripts/setup.sh"]
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in found)
    assert all(m.uname == "" and m.gname == "" for m in found)
    modes = {m.name: m.mode for m in found}
    assert modes == {
        "README.md": 0o644,
        "main.tf": 0o644,
        "scripts": 0o755,
        "scripts/setup.sh": 0o755,
    }
    folder = next(m for m in found if m.isdir())
    assert data[folder.offset : folder.offset + 9] == b"scripts/\0", "folders end with /"


@pytest.mark.parametrize(
    "excluded",
    [
        ".terraform/providers/registry/provider.bin",
        ".git/config",
        ".env",
        "terraform.tfstate",
        "state/terraform.tfstate.backup",
        "terraform.tfvars",
        "terraform.tfvars.json",
        "dev.auto.tfvars",
        "dev.auto.tfvars.json",
        "modules/.hidden/main.tf",
    ],
)
def test_excluded_files_change_neither_archive_nor_hash_when_present(
    template: Path, excluded: str
) -> None:
    before = build_archive(template)
    write(template, excluded, "secret-ish local content")
    after = build_archive(template)
    assert after.content_hash == before.content_hash
    names = [m.name for m in members(after.data)]
    assert excluded not in names
    assert not any(name.startswith((".terraform/", ".git/")) for name in names)
    if excluded.count("/") == 0 or excluded.startswith("."):
        assert after.data == before.data


def test_the_lock_file_is_archived_when_present(template: Path) -> None:
    write(template, ".terraform.lock.hcl", "# lock\n")
    assert ".terraform.lock.hcl" in [m.name for m in members(build_archive(template).data)]


def test_hash_changes_when_one_file_is_edited(template: Path) -> None:
    before = directory_hash(template)
    write(template, "README.md", "# docs, edited\n")
    assert directory_hash(template) != before


def test_hash_changes_when_a_file_is_renamed_with_the_same_content(template: Path) -> None:
    before = directory_hash(template)
    (template / "README.md").rename(template / "NOTES.md")
    assert directory_hash(template) != before


def test_named_error_when_the_directory_has_no_top_level_terraform(tmp_path: Path) -> None:
    root = tmp_path / "no-terraform"
    write(root, "modules/inner.tf")
    write(root, "README.md")
    with pytest.raises(TemplateDirectoryError, match=r"no-terraform has no top-level \.tf"):
        directory_hash(root)


def test_named_error_when_the_directory_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(TemplateDirectoryError, match="missing does not exist"):
        build_archive(tmp_path / "missing")


def test_a_tf_json_file_is_enough_terraform_when_it_is_top_level(tmp_path: Path) -> None:
    write(tmp_path / "json", "main.tf.json", "{}")
    assert len(directory_hash(tmp_path / "json")) == 64


def test_named_error_when_the_directory_holds_a_symlink(template: Path) -> None:
    (template / "link.tf").symlink_to(template / "main.tf")
    with pytest.raises(TemplateDirectoryError, match=r"symlink \(link\.tf\)"):
        build_archive(template)


def test_named_error_when_a_path_is_too_long_for_ustar(template: Path) -> None:
    write(template, "d/" + "n" * 120 + ".tf")
    with pytest.raises(TemplateDirectoryError, match="too long for a ustar archive"):
        build_archive(template)


def test_the_repository_template_archives_when_read(tmp_path: Path) -> None:
    archive = build_archive(REPO_TEMPLATE)
    assert is_ustar(archive.data)
    assert "main.tf" in [m.name for m in members(archive.data)]


def outside(tmp_path: Path) -> Path:
    """A folder outside the repository with a Terraform file and a secret beside it."""
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere, "main.tf", 'resource "null_resource" "a" {}\n')
    write(elsewhere, "id_rsa", "PRIVATE KEY")
    return elsewhere


def test_a_template_directory_that_is_a_symlink_is_refused_when_archived_or_hashed(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    (project / "templates").mkdir(parents=True)
    (project / "templates" / "escape").symlink_to(outside(tmp_path), target_is_directory=True)

    with pytest.raises(TemplateDirectoryError, match=r"templates/escape is a symlink"):
        build_archive(project / "templates" / "escape")
    with pytest.raises(ConfigError) as refused:
        discover(project, {})
    [issue] = refused.value.issues
    assert issue.key == "seeding.templates.escape"
    assert "is a symlink" in issue.message


def test_a_templates_root_that_is_a_symlink_is_refused_by_key_when_discovered(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    elsewhere = tmp_path / "other-templates"
    write(elsewhere, "docker/main.tf", "# tf\n")
    (project / "templates").symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(ConfigError) as refused:
        discover(project, {})
    [issue] = refused.value.issues
    assert issue.key == "seeding.templates"
    assert "templates/ is a symlink" in issue.message
    with pytest.raises(TemplateDirectoryError, match="is a symlink"):
        directory_hash(project / "templates" / "docker")  # the provider's path too


def test_a_file_over_the_upload_cap_is_refused_from_its_size_before_it_is_read(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = template / "disk.img"
    with huge.open("wb") as sparse:  # a sparse file: its size, without the disk or the memory
        sparse.truncate(MAX_ARCHIVE_BYTES + 1)
    read: list[Path] = []
    real_read = Path.read_bytes

    def recording_read(self: Path) -> bytes:
        read.append(self)
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", recording_read)

    with pytest.raises(TemplateDirectoryError, match=r"disk\.img \(104857601 bytes\)"):
        directory_hash(template)  # what a preview computes
    assert huge not in read
