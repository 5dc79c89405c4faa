"""The runner image for the node, made from the project's own Dockerfile without docker.

No docker daemon runs here, and a daemonless builder (Debian's buildah 1.28) would still need
the Dockerfile's base images (``golang``, ``python:3.11-slim``) from a registry, then a cold Go
build of the toolchain and two pip installs inside build containers. So the final stage is
reproduced instead, from what the project's scripts already built on this host:

- ``COPY --from=toolchain /opt/pulumi/bin/``: the pulumi CLI, the Python language host and the
  kubernetes provider from ``scripts/install-toolchain``'s cache. The other providers the
  Dockerfile installs with ``pulumi plugin install`` (azure-native, vault) come from GitHub
  releases, which are not reachable here: the image has none, and a stack that needs one fails
  naming the missing plugin (the node stack uses neither: Azure off, the Vault ``api`` provider).
- ``COPY --from=venvs /app/.venv/`` and ``/app/policy/.venv/``: the Dockerfile's venvs stage,
  built by ``scripts/install-node runner-venvs`` from the same requirement files, on Debian's
  python3 (3.11, as the Dockerfile's ``python:3.11`` base), which the image carries with every
  library its extension modules load instead of the base image's ``/usr/local`` Python.
- ``COPY . /app/``: the build context, filtered by ``.dockerignore`` exactly as the Docker CLI
  filters it (``localplatform.images.build_context``), so no local secret gets in.
- ``ENV``, ``USER``, ``WORKDIR``, ``ENTRYPOINT``, ``CMD`` and the runner user (``useradd``) are
  read from the Dockerfile itself: they cannot drift. A ``COPY`` or ``RUN`` in the final stage
  this recipe does not know fails the build, naming the line.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from localplatform.daemon import PartError
from localplatform.images.archive import Entry, ImageSpec
from localplatform.images.build_context import build_context
from localplatform.images.catalog import SIDECAR_PYTHON_PACKAGES, venv_entries
from localplatform.images.debian import package_files, rootfs, shared_libraries

# The name and tag the node stack pins (reconciler.image, restoreDrill.image); the version is
# the project's (pyproject.toml), as the Dockerfile's usage line tags it.
RUNNER_REPOSITORY = "localhost/coder-platform/runner"
RUNNER_VERSION = "0.1.0"
RUNNER_IMAGE = f"{RUNNER_REPOSITORY}:{RUNNER_VERSION}"
# What the language host's exec script and shells need beside Python: /usr/bin/env, /bin/sh.
SUPPORT_FILES = (Path("/usr/bin/env"), Path("/bin/sh"), Path("/bin/dash"))
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# The Dockerfile's toolchain stage: the CLI and the kubernetes provider (Go), the dynamic
# providers' and the policy packs' plugin scripts. Not the legacy Python language host
# (scripts/install-toolchain --help): on PATH, the engine hands the policy pack to it and the pack
# fails to start ("could not read plugin [/app/policy]"); the runner's program is inline.
GO_BINARIES = ("pulumi", "pulumi-resource-kubernetes")
TOOLCHAIN_FILES = (*GO_BINARIES, "pulumi-resource-pulumi-python", "pulumi-analyzer-policy-python")


@dataclass(frozen=True)
class Copy:
    stage: str | None  # --from=<stage>, or None for the build context
    source: str
    dest: str


@dataclass
class FinalStage:
    """The instructions of a Dockerfile's last stage that shape the image it produces."""

    copies: list[Copy] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    workdir: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def final_stage(dockerfile: str) -> FinalStage:
    instructions = _instructions(dockerfile)
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    if not starts:
        raise ValueError("the Dockerfile has no FROM")
    stage = FinalStage()
    for keyword, rest in instructions[starts[-1] + 1 :]:
        if keyword == "COPY":
            words = shlex.split(rest)
            origin = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            paths = [w for w in words if not w.startswith("--")]
            stage.copies += [Copy(origin, source, paths[-1]) for source in paths[:-1]]
        elif keyword == "RUN":
            stage.runs.append(rest)
        elif keyword == "ENV":
            stage.env.update(dict(word.split("=", 1) for word in shlex.split(rest)))
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "WORKDIR":
            stage.workdir = rest
        elif keyword in ("ENTRYPOINT", "CMD"):
            setattr(stage, keyword.lower(), list(json.loads(rest)))
        else:
            raise ValueError(
                f"the Dockerfile's final stage has {keyword} {rest!r}, which the "
                "node's runner image (localplatform.images.runner) does not follow"
            )
    return stage


_USERADD = re.compile(
    r"useradd\s.*--uid\s+(\d+)\s.*--gid\s+(\d+)\s.*--home-dir\s+(\S+)\s.*"
    r"--shell\s+(\S+)\s+(\S+)"
)
_GROUPADD = re.compile(r"groupadd\s+--gid\s+(\d+)\s+(\S+)")


def account_files(runs: Sequence[str]) -> list[Entry]:
    """/etc/passwd and /etc/group as the final stage's ``groupadd``/``useradd`` leave them."""
    if len(runs) != 1:
        raise ValueError(
            f"the Dockerfile's final stage runs {len(runs)} commands; the node's "
            "runner image follows exactly one (groupadd + useradd)"
        )
    group, user = _GROUPADD.search(runs[0]), _USERADD.search(runs[0])
    if group is None or user is None:
        raise ValueError(
            f"the final stage's RUN {runs[0]!r} is not the groupadd + useradd the "
            "node's runner image reproduces"
        )
    gid, group_name = group.groups()
    uid, user_gid, home, shell, name = user.groups()
    passwd = f"root:x:0:0:root:/root:/bin/sh\n{name}:x:{uid}:{user_gid}::{home}:{shell}\n"
    groups = f"root:x:0:\n{group_name}:x:{gid}:\n"
    return [
        Entry("etc/passwd", data=passwd.encode(), mode=0o644),
        Entry("etc/group", data=groups.encode(), mode=0o644),
    ]


@dataclass(frozen=True)
class RunnerInputs:
    """Where the pieces come from on this host."""

    root: Path  # the checkout: its Dockerfile, .dockerignore and build context
    toolchain_bin: Path  # scripts/install-toolchain's bin/ (TOOLCHAIN_FILES)
    venv: Path  # scripts/install-node runner-venvs
    policy_venv: Path
    # Loopback-only directories put under /app at the same relative path, beyond the Dockerfile:
    # the chart copy a loopback stack installs Coder from (coder.chartPath, under .localplatform/,
    # which the build context leaves out for the secrets beside it). dev/prod's image has none:
    # their chart comes from its repository.
    extras: tuple[tuple[str, Path], ...] = ()


def toolchain_bin(root: Path) -> Path:
    """The built toolchain's ``bin/``, first on PATH in ``install-toolchain --print-env
    --no-python-host`` (what the runner runs with on the host)."""
    out = subprocess.run(
        [str(root / "scripts" / "install-toolchain"), "--print-env", "--no-python-host"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise PartError(f"runner image: the toolchain is not built: {out.stderr.strip()}")
    for line in out.stdout.splitlines():
        if line.startswith("export PATH="):
            return Path(line.removeprefix("export PATH=").strip("'\"").split(":")[0])
    raise PartError("runner image: install-toolchain --print-env printed no PATH")


def _toolchain_entries(inputs: RunnerInputs, dest: str) -> list[Entry]:
    """The Dockerfile's toolchain stage flattened onto one directory (TOOLCHAIN_FILES)."""
    files = [inputs.toolchain_bin / name for name in TOOLCHAIN_FILES]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise PartError(f"runner image: not in the toolchain: {', '.join(missing)}")
    return [Entry(f"{dest}/{path.name}", source=path) for path in files]


def _context_entries(inputs: RunnerInputs, dest: str) -> list[Entry]:
    """``COPY . /app/``: files owned by root, read-only for the runner (modes kept)."""
    entries = []
    for name in build_context(inputs.root):
        path = inputs.root / name
        if path.is_symlink() or not path.is_file():
            continue
        entries.append(Entry(f"{dest}/{name}", source=path, mode=path.stat().st_mode & 0o755))
    return entries


def extra_entries(inputs: RunnerInputs, app: str = "app") -> list[Entry]:
    """``inputs.extras`` under the image's project directory, each at its relative path."""
    entries = []
    for relative, directory in inputs.extras:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
            inside = f"{app}/{_strip(relative)}/{path.relative_to(directory).as_posix()}"
            entries.append(Entry(inside, source=path, mode=path.stat().st_mode & 0o755))
    return entries


def _strip(path: str) -> str:
    return path.strip("/")


def copy_recipe(inputs: RunnerInputs) -> dict[Copy, Callable[[], list[Entry]]]:
    """Each ``COPY`` of the Dockerfile's final stage and how this image fills it."""
    return {
        Copy("toolchain", "/opt/pulumi/bin/", "/opt/pulumi/bin/"): lambda: _toolchain_entries(
            inputs, "opt/pulumi/bin"
        ),
        Copy("venvs", "/app/.venv/", "/app/.venv/"): lambda: venv_entries(inputs.venv, "app/.venv"),
        Copy("venvs", "/app/policy/.venv/", "/app/policy/.venv/"): lambda: venv_entries(
            inputs.policy_venv, "app/policy/.venv"
        ),
        Copy(None, ".", "/app/"): lambda: _context_entries(inputs, "app"),
    }


def _elf_inputs(inputs: RunnerInputs) -> list[Path]:
    """What the loader maps libraries for: the Go binaries and the venvs' extension modules."""
    files = [inputs.toolchain_bin / name for name in GO_BINARIES]
    for venv in (inputs.venv, inputs.policy_venv):
        files += [p for p in venv.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    return files


def _python_and_libraries(inputs: RunnerInputs) -> list[Entry]:
    """The base image's part: Debian's python3 and standard library, /usr/bin/env, a shell,
    the CA bundle, and every library the interpreter, the extension modules and the Go
    binaries load (those a wheel bundles beside itself stay in its venv)."""
    python = [*package_files(SIDECAR_PYTHON_PACKAGES), Path("/usr/bin/python3")]
    venvs = (str(inputs.venv.resolve()) + "/", str(inputs.policy_venv.resolve()) + "/")
    libraries = [
        library
        for library in sorted(shared_libraries([*python, *_elf_inputs(inputs)]))
        if not str(library.resolve()).startswith(venvs)
    ]
    support = [*SUPPORT_FILES, *([CA_BUNDLE] if CA_BUNDLE.exists() else [])]
    return rootfs([*python, *libraries, *support])


def runner(inputs: RunnerInputs) -> ImageSpec:
    """The runner image: the Dockerfile's final stage, filled from this host's builds."""
    stage = final_stage((inputs.root / "Dockerfile").read_text())
    recipe = copy_recipe(inputs)
    unknown = [copy for copy in stage.copies if copy not in recipe]
    if unknown:
        raise PartError(
            f"runner image: the Dockerfile copies {unknown[0]}, which "
            "localplatform.images.runner does not reproduce: add it to copy_recipe"
        )
    copied: list[Entry] = []
    for copy in stage.copies:
        copied += recipe[copy]()
    copied += extra_entries(inputs, _strip(stage.workdir) or "app")
    base = _python_and_libraries(inputs)
    return ImageSpec(
        name=RUNNER_IMAGE,
        entries=[*base, *account_files(stage.runs), *copied],
        entrypoint=stage.entrypoint,
        cmd=stage.cmd,
        env=stage.env,
        user=stage.user,
        workdir=stage.workdir,
    )


def installed_inputs(
    root: Path,
    venv: Path,
    policy_venv: Path,
    project: Path | None = None,
    extras: tuple[tuple[str, Path], ...] = (),
) -> RunnerInputs:
    """The toolchain ``root``'s scripts built; the Dockerfile and build context of ``project``
    (default: ``root``), e.g. a project copy whose stack points at a platform of its own."""
    return RunnerInputs(project or root, toolchain_bin(root), venv, policy_venv, extras)
