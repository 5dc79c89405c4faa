"""The docker-archive writer: what ``ctr images import`` reads, checked against the format."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from localplatform.images import catalog
from localplatform.images.archive import Entry, ImageSpec, layer_tar, write_archive


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_the_manifest_names_the_tag_config_and_layers_by_their_digests(tmp_path: Path) -> None:
    binary = tmp_path / "manager"
    binary.write_bytes(b"\x7fELF pretend")
    spec = ImageSpec(
        name="ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0",
        entries=[
            Entry("operator/manager_amd64", source=binary),
            Entry("manager", link="operator/manager_amd64"),
        ],
        entrypoint=["/manager"],
        env={"PATH": "/usr/bin"},
        user="10001:10001",
    )
    image_id = write_archive(spec, tmp_path / "out.tar")
    files = _members(tmp_path / "out.tar")
    [manifest] = json.loads(files["manifest.json"])
    assert manifest["RepoTags"] == ["ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0"]
    config_bytes = files[manifest["Config"]]
    assert image_id == "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    config = json.loads(config_bytes)
    [layer_name] = manifest["Layers"]
    layer = files[layer_name]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert config["config"]["Entrypoint"] == ["/manager"]
    assert config["config"]["Env"] == ["PATH=/usr/bin"]
    assert config["config"]["User"] == "10001:10001"
    assert (config["os"], config["architecture"]) == ("linux", "amd64")


def test_a_layer_holds_each_entry_and_its_parent_directories_owned_by_root(tmp_path: Path) -> None:
    binary = tmp_path / "manager"
    binary.write_bytes(b"binary")
    layer = layer_tar(
        [
            Entry("operator/manager_amd64", source=binary),
            Entry("manager", link="operator/manager_amd64"),
        ]
    )
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["operator"].isdir()
        assert members["manager"].issym()
        assert members["manager"].linkname == "operator/manager_amd64"
        assert tar.extractfile(members["operator/manager_amd64"]).read() == b"binary"  # type: ignore[union-attr]
        assert members["operator/manager_amd64"].mode == 0o755
        assert {(m.uid, m.gid, m.mtime) for m in members.values()} == {(0, 0, 0)}


def test_the_same_inputs_give_the_same_image_id(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"pause")
    first = write_archive(catalog.pause(binary), tmp_path / "a.tar")
    binary.touch()  # a newer mtime on the host changes nothing in the image
    assert write_archive(catalog.pause(binary), tmp_path / "b.tar") == first


def test_base_layers_stay_below_the_images_own_layer(tmp_path: Path) -> None:
    base = tmp_path / "base.tar"
    base.write_bytes(layer_tar([Entry("etc/os-release", data=b"ID=debian\n", mode=0o644)]))
    spec = ImageSpec(
        name="local/app:1",
        entries=[Entry("app", data=b"x")],
        entrypoint=["/app"],
        base_layers=[base],
    )
    write_archive(spec, tmp_path / "out.tar")
    files = _members(tmp_path / "out.tar")
    [manifest] = json.loads(files["manifest.json"])
    bottom, own = manifest["Layers"]
    assert files[bottom] == base.read_bytes()
    assert files[own] != files[bottom]


@pytest.mark.parametrize("name", ["no-tag", ":1", "repo:tag/with/slash"])
def test_a_name_without_repository_and_tag_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    spec = ImageSpec(name=name, entries=[Entry("app", data=b"x")], entrypoint=["/app"])
    with pytest.raises(ValueError, match="needs a repository and a tag"):
        write_archive(spec, tmp_path / "out.tar")
    assert not (tmp_path / "out.tar").exists()


@pytest.mark.parametrize("path", ["/abs", "a/../../etc"])
def test_a_path_outside_the_image_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="must be relative and stay inside"):
        layer_tar([Entry(path, data=b"x")])
