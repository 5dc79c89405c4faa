"""The seeded Coder state at 1x, 10x and 100x templates and users.

- ``program``: the real ``__main__.py`` under Pulumi mocks with N template directories (copies of
  ``templates/kubernetes-devcontainer``, each a little different so each hashes on its own) and
  N users in the dev stack's config: config checks, hashing every directory, registering.
- ``no-op refresh``: what a converged run asks of each seeded resource, against the in-process
  Coder double: ``read`` then ``diff`` for N templates (each with lifecycle, schedule and port
  sharing settings), their N ACLs (``CoderTemplateAccess``) and N users created beforehand
  (untimed). It must make zero writes; the note gives the Coder API calls it made per resource.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.measure import Measurement, timed, timed_per_call
from coder_platform.coder_api import CoderClient
from coder_platform.coder_api.templates import (
    ACCESS_CONTROL_FEATURE,
    ADVANCED_SCHEDULING_FEATURE,
    CONTROL_SHARED_PORTS_FEATURE,
)
from coder_platform.contracts import TEMPLATE_ACCESS_FEATURE
from coder_platform.template_archive import directory_hash
from components.providers.coder_template import CoderTemplateProvider
from components.providers.coder_template_access import CoderTemplateAccessProvider
from components.providers.coder_user import CoderUserProvider
from testbed.coder_double import BASE_URL, ORG_ID, CoderDouble, FakeClock
from testbed.harness import ROOT, load_stack_file, run_program

Progress = Callable[[str], None]

SCALES = (1, 10, 100)
SOURCE_TEMPLATE = ROOT / "templates" / "kubernetes-devcontainer"
EMAIL = "automation@coder-platform.bench"
USERNAME = "coder-automation"
PASSWORD = "bench-Pw-3c9e1a7d5b2f"


def make_project(root: Path, templates: int) -> Path:
    """A project copy whose templates/ holds ``templates`` distinct directories."""
    shutil.copy2(ROOT / "__main__.py", root / "__main__.py")
    for index in range(templates):
        target = root / "templates" / f"bench-{index:03d}"
        shutil.copytree(SOURCE_TEMPLATE, target)
        (target / "bench.tf").write_text(f"# bench copy {index}\n")
    return root


def scaled_config(count: int) -> dict[str, Any]:
    config = copy.deepcopy(load_stack_file("dev"))
    config["seeding"]["templates"] = {}
    config["seeding"]["users"] = [
        {"username": f"bench-user-{i:03d}", "email": f"user{i}@bench.internal", "roles": []}
        for i in range(count)
    ]
    return config


def program_scaling(repeat: int, progress: Progress) -> list[Measurement]:
    measurements = [Measurement(f"program: dev, {n} templates + {n} users") for n in SCALES]
    for scale, measurement in zip(SCALES, measurements, strict=True):
        progress(f"mocked: program with {scale} templates and users x{repeat}")
        with tempfile.TemporaryDirectory(prefix="bench-seeded-") as tmp:
            project = make_project(Path(tmp), scale)
            run = partial(
                run_program, scaled_config(scale), stack="dev", program=project / "__main__.py"
            )
            try:
                run()  # warm-up, untimed
                for _ in range(repeat):
                    mocks, seconds = timed(run)
                    measurement.samples.append(seconds)
                    measurement.note = f"{len(mocks.resources)} resources registered"
            except Exception as error:
                measurement.error = f"{type(error).__name__}: {str(error)[:200]}"
    return measurements


def _client_factory(double: CoderDouble) -> Callable[[str], CoderClient]:
    return lambda url: CoderClient(url, transport=double.transport(), clock=FakeClock())


def _seeded(scale: int, workdir: Path) -> tuple[CoderDouble, Callable[[], None]]:
    """A double holding ``scale`` templates and users made by the providers, and the no-op
    refresh over all of them (read, then diff against the same inputs)."""
    double = CoderDouble(oidc_configured=True)
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.create_first_user(EMAIL, USERNAME, "Bench Automation", PASSWORD)
        client.authenticate(client.login(EMAIL, PASSWORD))
        token = client.create_token(USERNAME, "bench", 24 * 3600)
    # Premium, as on the local stack: ACLs, schedule and port sharing go through their checks.
    double.entitle(
        TEMPLATE_ACCESS_FEATURE,
        ACCESS_CONTROL_FEATURE,
        ADVANCED_SCHEDULING_FEATURE,
        CONTROL_SHARED_PORTS_FEATURE,
    )
    with CoderClient(BASE_URL, transport=double.transport()) as client:
        client.authenticate(token)
        client.create_group("default", "platform-team")
    templates = CoderTemplateProvider(_client_factory(double))
    accesses = CoderTemplateAccessProvider(_client_factory(double))
    users = CoderUserProvider(_client_factory(double))
    project = make_project(workdir, scale)
    resources: list[tuple[Any, str, dict[str, Any]]] = []
    for index in range(scale):
        directory = f"templates/bench-{index:03d}"
        props = {
            "url": BASE_URL,
            "token": token,
            "organization": "default",
            "name": f"bench-{index:03d}",
            "display_name": "",
            "description": "",
            "icon": "",
            "default_ttl_ms": 0.0,
            "activity_bump_ms": 3_600_000.0,
            "variables": {},
            # Declared lifecycle settings: read with the template, no call of their own.
            "lifecycle": {
                "allow_user_cancel_workspace_jobs": False,
                "require_active_version": True,
                "autostop_requirement": {"days_of_week": ["sunday"], "weeks": 2.0},
                "autostart_requirement": {"days_of_week": ["monday", "friday"]},
                "max_port_share_level": "authenticated",
            },
            "directory": directory,
            "source_root": str(project),
            "directory_hash": directory_hash(project / directory),
        }
        created = templates.create(props)
        resources.append((templates, created.id, {**props, **(created.outs or {})}))
        access = {
            "url": BASE_URL,
            "token": token,
            "organization": "default",
            "template": props["name"],
            "template_id": created.id,
            "organization_id": ORG_ID,
            "groups": {"platform-team": "admin"},
            "users": {},
            "everyone": "use",
        }
        granted = accesses.create(access)
        resources.append((accesses, granted.id, {**access, **(granted.outs or {})}))
        user: dict[str, Any] = {
            "url": BASE_URL,
            "token": token,
            "username": f"bench-user-{index:03d}",
            "email": f"user{index}@bench.internal",
            "name": "",
            "login_type": "oidc",
            "password": None,
            "roles": [],
            "suspended": False,
            "on_delete": "suspend",
        }
        made = users.create(users.check({}, user).inputs)
        resources.append((users, made.id, {**user, **(made.outs or {})}))

    def refresh_and_diff() -> None:
        for provider, id_, outs in resources:
            read = provider.read(id_, outs)
            provider.diff(id_, read.outs or outs, outs)

    return double, refresh_and_diff


def noop_scaling(repeat: int, progress: Progress) -> list[Measurement]:
    measurements = [
        Measurement(f"no-op refresh: {n} templates + {n} ACLs + {n} users") for n in SCALES
    ]
    for scale, measurement in zip(SCALES, measurements, strict=True):
        progress(f"mocked: no-op refresh of {scale} templates and users x{repeat}")
        with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
            try:
                double, refresh = _seeded(scale, Path(tmp))
                before_requests, before_writes = len(double.requests), double.writes()
                refresh()
                calls = (len(double.requests) - before_requests) / (3 * scale)
                writes = double.writes() - before_writes
                for _ in range(repeat):
                    _, seconds = timed_per_call(refresh)
                    measurement.samples.append(seconds)
                measurement.note = f"{calls:g} API calls per resource, {writes} writes"
                if writes:
                    measurement.error = f"a no-op refresh wrote {writes} times to Coder"
            except Exception as error:
                measurement.error = f"{type(error).__name__}: {str(error)[:200]}"
    return measurements
