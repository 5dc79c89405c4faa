"""Coder's image for the node: the platform's own Coder build in upstream's layout (the chart
runs /opt/coder as uid 1000), OpenTofu as terraform, the provider mirror and a CLI config that
names it where the image puts it, and the platform's license key in its environment.
(Built from the real binaries, `/opt/coder` and an offline `terraform init` of the provider ran
in its rootfs; the node tier runs it as the chart's pod.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from localplatform.images.catalog import PROVIDER_MIRROR, TF_CLI_CONFIG, coder

MIRROR_FILE = "registry.opentofu.org/coder/coder/2.20.0/linux_amd64/terraform-provider-coder"


@pytest.fixture
def built(tmp_path: Path) -> dict[str, Path]:
    """Stand-ins for scripts/install-platform's outputs (not ELF: no libraries to resolve)."""
    (tmp_path / "bin").mkdir()
    binary, tofu = tmp_path / "bin" / "coder", tmp_path / "bin" / "tofu"
    binary.write_text("coder")
    tofu.write_text("tofu")
    (tmp_path / "bin" / "terraform").symlink_to("tofu")
    mirror = tmp_path / "mirror"
    (mirror / MIRROR_FILE).parent.mkdir(parents=True)
    (mirror / MIRROR_FILE).write_text("provider")
    cli = tmp_path / "cli.tfrc"
    cli.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n')
    return {
        "coder": binary,
        "terraform": tmp_path / "bin" / "terraform",
        "mirror": mirror,
        "cli": cli,
    }


def test_the_image_runs_the_platforms_coder_where_the_chart_looks_for_it(
    built: dict[str, Path],
) -> None:
    spec = coder(
        built["coder"], built["terraform"], built["mirror"], built["cli"], version="2.36.1", env={}
    )
    entries = {e.path: e for e in spec.entries}
    # The chart's image: <coder.image.repo>:v<appVersion>, coder.command /opt/coder.
    assert spec.name == "ghcr.io/coder/coder:v2.36.1"
    assert entries["opt/coder"].source == built["coder"]
    assert spec.user == "1000:1000"
    # OpenTofu itself, not the host's link to it.
    assert entries["usr/local/bin/tofu"].source == built["terraform"].resolve()
    assert entries["usr/local/bin/terraform"].link == "tofu"


def test_template_imports_find_the_provider_mirror_where_the_image_puts_it(
    built: dict[str, Path],
) -> None:
    spec = coder(
        built["coder"], built["terraform"], built["mirror"], built["cli"], version="2.36.1", env={}
    )
    entries = {e.path: e for e in spec.entries}
    assert f"{PROVIDER_MIRROR}/{MIRROR_FILE}" in entries
    config = entries[TF_CLI_CONFIG].data
    assert config is not None
    assert f'path = "/{PROVIDER_MIRROR}"'.encode() in config
    assert str(built["mirror"]).encode() not in config
    assert spec.env["TF_CLI_CONFIG_FILE"] == f"/{TF_CLI_CONFIG}"


def test_the_platforms_license_key_is_in_the_images_environment(built: dict[str, Path]) -> None:
    env = {"CODER_PLATFORM_LICENSE_PUBLIC_KEY": "cHVibGlj"}
    spec = coder(
        built["coder"], built["terraform"], built["mirror"], built["cli"], version="2.36.1", env=env
    )
    assert spec.env["CODER_PLATFORM_LICENSE_PUBLIC_KEY"] == "cHVibGlj"


def test_a_cli_config_that_does_not_name_the_mirror_is_refused(built: dict[str, Path]) -> None:
    built["cli"].write_text("provider_installation { direct {} }\n")
    with pytest.raises(ValueError, match="does not name the provider mirror"):
        coder(
            built["coder"],
            built["terraform"],
            built["mirror"],
            built["cli"],
            version="2.36.1",
            env={},
        )
