"""The images the node runs, under the names their manifests or the stack pin.

Each is made from a binary the project's install scripts built or a Debian package installed on
the host; none is pulled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from localplatform.images.archive import Entry, ImageSpec
from localplatform.images.debian import installed_version, package_files, rootfs, shared_libraries

# containerd's CRI runs every pod's sandbox from this image (its config's sandbox_image); the
# name is upstream's, so nothing else changes when a registry is reachable.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
# The name CloudNativePG's release manifest (releases/cnpg-<version>.yaml) runs and hands to
# instance pods (OPERATOR_IMAGE_NAME) for their bootstrap init container.
CNPG_OPERATOR_REPOSITORY = "ghcr.io/cloudnative-pg/cloudnative-pg"
# The operand: Debian's PostgreSQL. CNPG reads the major version from the tag, so the tag is
# the major Debian ships (15); a stack running on the node pins this name.
POSTGRES_MAJOR = 15
POSTGRES_IMAGE = f"localhost/coder-platform/postgresql:{POSTGRES_MAJOR}"
# The local-path provisioner and the helper pod it runs to create and remove volume dirs.
LOCAL_PATH_REPOSITORY = "localhost/coder-platform/local-path-provisioner"
LOCAL_PATH_HELPER_IMAGE = "localhost/coder-platform/local-path-helper:1"
# CNPG instance pods run PostgreSQL as this uid (Cluster.spec.postgresUID's default); initdb
# needs it in /etc/passwd.
POSTGRES_UID = 26


def pause(binary: Path) -> ImageSpec:
    return ImageSpec(
        name=PAUSE_IMAGE,
        entries=[Entry("pause", source=binary)],
        entrypoint=["/pause"],
        user="65535:65535",
    )


def _loader_for(binary: Path) -> list[Entry]:
    """The C library and loader a cgo-built Go binary needs (none for a static one)."""
    return rootfs(sorted(shared_libraries([binary])))


def cnpg_operator(manager: Path, version: str) -> ImageSpec:
    """Upstream's layout: the manager picks its binary per architecture from /operator and
    fails "invalid architecture: amd64" without ``/operator/manager_amd64``; ``/manager`` is
    what the Deployment and the instance pods' bootstrap step run. The instance pods copy
    ``/manager`` into PostgreSQL's image, which has the same Debian libc."""
    return ImageSpec(
        name=f"{CNPG_OPERATOR_REPOSITORY}:{version.removeprefix('v')}",
        entries=[
            *_loader_for(manager),
            Entry("operator/manager_amd64", source=manager),
            Entry("manager", link="operator/manager_amd64"),
        ],
        entrypoint=["/manager"],
        user="10001:10001",
    )


def _passwd() -> list[Entry]:
    return [
        Entry(
            "etc/passwd",
            data=b"root:x:0:0::/root:/bin/sh\npostgres:x:26:26::/var/lib/postgresql:/bin/sh\n",
            mode=0o644,
        ),
        Entry("etc/group", data=b"root:x:0:\npostgres:x:26:\n", mode=0o644),
    ]


def postgres() -> ImageSpec:
    """Debian's postgresql-15 and its client tools, the libraries they load, and /bin/sh
    (pg_ctl starts the server through it)."""
    major = str(POSTGRES_MAJOR)
    packages = [f"postgresql-{major}", f"postgresql-client-{major}", "dash"]
    files = package_files(packages)
    files += sorted(shared_libraries(files))
    files += [Path("/bin/sh")]
    files += [p for p in Path("/usr/share/zoneinfo").rglob("*") if not p.is_dir()]
    # initdb checks the locale it runs under: C.UTF-8, from libc-bin's compiled copy.
    files += [p for p in Path("/usr/lib/locale/C.utf8").rglob("*") if not p.is_dir()]
    bindir = f"/usr/lib/postgresql/{major}/bin"
    return ImageSpec(
        name=POSTGRES_IMAGE,
        entries=[*rootfs(files), *_passwd()],
        entrypoint=[],
        cmd=[f"{bindir}/postgres"],
        env={
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "DEBIAN_POSTGRESQL_VERSION": installed_version(f"postgresql-{major}"),
        },
        user=f"{POSTGRES_UID}:{POSTGRES_UID}",
    )


def local_path_provisioner(binary: Path, version: str) -> ImageSpec:
    return ImageSpec(
        name=f"{LOCAL_PATH_REPOSITORY}:{version}",
        entries=[*_loader_for(binary), Entry("usr/bin/local-path-provisioner", source=binary)],
        entrypoint=[],
        cmd=["local-path-provisioner"],
        env={"PATH": "/usr/bin"},
    )


def local_path_helper() -> ImageSpec:
    """What the provisioner's setup and teardown scripts run: sh, mkdir, rm (dash, coreutils)."""
    files = package_files(["dash", "coreutils"])
    files += sorted(shared_libraries(files))
    files += [Path("/bin/sh")]
    return ImageSpec(
        name=LOCAL_PATH_HELPER_IMAGE,
        entries=rootfs(files),
        entrypoint=[],
        cmd=["/bin/sh"],
        env={"PATH": "/usr/bin:/bin"},
    )


# The Barman Cloud plugin's release images (upstream's names), both the same static binary:
# the plugin runs `manager operator`, the sidecar CNPG injects into instance pods runs
# `manager instance` and calls barman-cloud-* from its PATH.
BARMAN_CLOUD_PLUGIN_REPOSITORY = "ghcr.io/cloudnative-pg/plugin-barman-cloud"
BARMAN_CLOUD_SIDECAR_REPOSITORY = "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar"
# Where the sidecar image keeps barman's venv (upstream's image: /venv, first on PATH).
SIDECAR_VENV = "venv"
SIDECAR_PYTHON_PACKAGES = ("python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib")


def barman_cloud_plugin_name(version: str) -> str:
    return f"{BARMAN_CLOUD_PLUGIN_REPOSITORY}:{version}"


def barman_cloud_sidecar_name(version: str) -> str:
    return f"{BARMAN_CLOUD_SIDECAR_REPOSITORY}:{version}"


def barman_cloud_plugin(manager: Path, version: str) -> ImageSpec:
    return ImageSpec(
        name=barman_cloud_plugin_name(version),
        entries=[Entry("manager", source=manager)],
        entrypoint=["/manager"],
        user="65532:65532",
    )


def venv_entries(venv: Path, inside: str = SIDECAR_VENV) -> list[Entry]:
    """``venv`` laid at ``/<inside>``: its scripts' ``#!<venv>/bin/python`` lines name the new
    place; its ``python`` links (to Debian's ``/usr/bin/python3``) are kept as they are."""
    old = f"#!{venv}/bin/".encode()
    new = f"#!/{inside}/bin/".encode()
    entries = []
    for path in sorted(venv.rglob("*")):
        target = f"{inside}/{path.relative_to(venv).as_posix()}"
        if path.is_symlink():
            entries.append(Entry(target, link=str(path.readlink())))
        elif path.is_dir():
            entries.append(Entry(target, directory=True, mode=0o755))
        else:
            data = path.read_bytes()
            if data.startswith(old):
                data = new + data[len(old) :]
            entries.append(Entry(target, data=data, mode=path.stat().st_mode & 0o7777))
    return entries


def barman_cloud_sidecar(manager: Path, version: str, venv: Path) -> ImageSpec:
    """The plugin's binary, Debian's python3 with its standard library, barman's venv at /venv
    and every library the interpreter and the venv's extension modules load."""
    python = [*package_files(SIDECAR_PYTHON_PACKAGES), Path("/usr/bin/python3")]
    extensions = [p for p in venv.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    libraries = sorted(shared_libraries([*python, *extensions]))
    return ImageSpec(
        name=barman_cloud_sidecar_name(version),
        entries=[
            *rootfs([*python, *libraries]),
            *venv_entries(venv),
            *_passwd(),
            Entry("manager", source=manager),
        ],
        entrypoint=["/manager"],
        env={"PATH": f"/{SIDECAR_VENV}/bin:/usr/bin:/bin", "HOME": "/tmp"},
        user=f"{POSTGRES_UID}:{POSTGRES_UID}",
    )


# Coder's release image (upstream's name; the chart runs `<coder.image.repo>:v<appVersion>`).
CODER_REPOSITORY = "ghcr.io/coder/coder"
# Upstream's layout (scripts/Dockerfile and Dockerfile.base in the Coder module): the binary at
# /opt/coder (the chart's coder.command), user 1000:1000 (the chart's runAsUser), HOME
# /home/coder, terraform in /usr/local/bin. Here terraform is OpenTofu, as for the host's Coder
# (localplatform.coder), and providers come from the same filesystem mirror, laid at
# /opt/terraform-providers with a CLI config naming it there.
CODER_UID = 1000
CODER_HOME = "home/coder"
PROVIDER_MIRROR = "opt/terraform-providers"
TF_CLI_CONFIG = "etc/coder-platform/cli.tfrc"


def coder_image_name(version: str) -> str:
    return f"{CODER_REPOSITORY}:v{version}"


def coder(
    binary: Path,
    terraform: Path,
    mirror: Path,
    cli_config: Path,
    *,
    version: str,
    env: Mapping[str, str],
) -> ImageSpec:
    """The local platform's Coder build as upstream's image lays Coder out, with OpenTofu as
    ``terraform``, the provider mirror and ``env`` (the platform's license key: public). The
    CLI config is the host's (scripts/install-platform writes it) with the mirror's path moved,
    so what it allows stays defined there."""
    tofu = terraform.resolve()
    providers = [p for p in mirror.rglob("*") if p.is_file()]
    config = cli_config.read_text()
    if str(mirror) not in config:
        raise ValueError(f"{cli_config} does not name the provider mirror {mirror}")
    passwd = f"root:x:0:0::/root:/bin/sh\ncoder:x:{CODER_UID}:{CODER_UID}::/{CODER_HOME}:/bin/sh\n"
    group = f"root:x:0:\ncoder:x:{CODER_UID}:\n"
    return ImageSpec(
        name=coder_image_name(version),
        entries=[
            *rootfs(sorted(shared_libraries([binary, tofu, *providers]))),
            Entry("opt/coder", source=binary),
            Entry("usr/local/bin/tofu", source=tofu),
            Entry("usr/local/bin/terraform", link="tofu"),
            *[
                Entry(
                    f"{PROVIDER_MIRROR}/{p.relative_to(mirror).as_posix()}",
                    source=p,
                    mode=p.stat().st_mode & 0o7777,
                )
                for p in sorted(providers)
            ],
            Entry(
                TF_CLI_CONFIG,
                data=config.replace(str(mirror), f"/{PROVIDER_MIRROR}").encode(),
                mode=0o644,
            ),
            Entry("etc/passwd", data=passwd.encode(), mode=0o644),
            Entry("etc/group", data=group.encode(), mode=0o644),
            # Layers are root-owned: sticky and world-writable (as /tmp) so uid 1000 writes there.
            Entry(CODER_HOME, directory=True, mode=0o1777),
        ],
        entrypoint=["/opt/coder", "server"],
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin:/opt",
            "HOME": f"/{CODER_HOME}",
            "TF_CLI_CONFIG_FILE": f"/{TF_CLI_CONFIG}",
            **env,
        },
        user=f"{CODER_UID}:{CODER_UID}",
        workdir=f"/{CODER_HOME}",
    )
