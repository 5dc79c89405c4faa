"""The mission: the runner against the local platform (a real Coder, OpenBao, PostgreSQL and
Kubernetes API server on loopback), from a project copy with an ``e2e`` stack of its own.

The platform here is a separate instance (its own state dir and free ports), so a developer's
running ``local`` platform is never touched. The e2e tier and the bench's local-platform rows
both start one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from coder_platform.contracts import CODER_URL_ENV, PROJECT, PUBLISHED_TOKEN_KEY
from localplatform.locations import free_port
from localplatform.platform import LocalPlatform, free_openbao_port, toolchain_env
from localplatform.project_copy import (
    WITH_LOCAL_TEMPLATES,
    copy_files,
    edit_stack_config,
    point_stack_at,
)
from testbed import project
from testbed.project import Run

ROOT = Path(__file__).resolve().parents[1]
# The program's files, and the template the local Coder imports offline.
STACK = "e2e"


@dataclass
class Mission:
    """A project copy, its e2e stack, and the platform it runs against."""

    work_dir: Path
    platform: LocalPlatform
    env: dict[str, str]

    def reconcile(self, *extra: str) -> Run:
        return self.run("reconcile", *extra)

    def run(self, command: str, *extra: str) -> Run:
        """``python -m automation <command>`` on the e2e stack, as the CronJob runs it."""
        return project.Project(self.work_dir, self.env).run(command, STACK, *extra, timeout=900)

    @property
    def stack_file(self) -> Path:
        return self.work_dir / "stacks" / f"Pulumi.{STACK}.yaml"

    def edit_stack(self, edit: Callable[[dict[str, Any]], None]) -> None:
        """Change the e2e stack's config (``edit`` gets the stack file's ``config`` map)."""
        edit_stack_config(self.stack_file, edit)

    @property
    def coder_url(self) -> str:
        return self.platform.coder.url

    def token(self) -> str:
        data = self.platform.openbao.read_kv("coder/coder-cli-session-token")
        assert data and data.get(PUBLISHED_TOKEN_KEY), "no automation token published to OpenBao"
        return data[PUBLISHED_TOKEN_KEY]

    def coder(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Coder-Session-Token": self.token(), "X-Coder-Bypass-Ratelimit": "true"}
        return httpx.request(
            method, f"{self.coder_url}/api/v2{path}", headers=headers, timeout=30, **kwargs
        )

    def sql(self, statement: str) -> str:
        return self.platform.postgres.query(statement, database="coder")

    def coder_fingerprint(self) -> str:
        """Every row a seeding write would create or change, and none Coder changes by itself
        (a request updates last_seen_at and a token's last_used, which are left out)."""
        return self.sql(
            "select md5(concat_ws('|',"
            " (select string_agg(concat_ws(',', username, status, rbac_roles::text, login_type,"
            "   deleted), ';' order by username) from users),"
            " (select string_agg(concat_ws(',', name, active_version_id, deleted, display_name,"
            "   description), ';' order by name) from templates),"
            " (select count(*) from template_versions),"
            " (select count(*) from files),"
            " (select count(*) from api_keys where login_type = 'token')))"
        )

    def template_versions(self, template: str) -> int:
        return int(
            self.sql(
                "select count(*) from template_versions v join templates t"
                f" on v.template_id = t.id where t.name = '{template}' and not t.deleted"
            )
        )


def _write_e2e_stack(work_dir: Path, platform: LocalPlatform) -> Path:
    local = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    config = local["config"]
    config[f"{PROJECT}:environment"] = STACK
    stack_file = work_dir / "stacks" / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(yaml.safe_dump(local, sort_keys=False))
    point_stack_at(stack_file, platform.coder.url, platform.openbao.address)
    shutil.copy(
        work_dir / "policy" / "config" / "local.json", work_dir / "policy" / "config" / "e2e.json"
    )
    return stack_file


def start_mission(
    base: Path,
    *,
    oidc_user_role_field: str = "",
    edit_stack: Callable[[dict[str, Any]], None] | None = None,
) -> Mission:
    """A project copy with an e2e stack, and a platform of its own started for it.

    ``oidc_user_role_field``: Coder runs with site role sync (the claim it reads roles from);
    ``edit_stack`` changes the e2e stack's config (the stack file's ``config`` map) before the
    platform seeds its inputs."""
    work_dir = base / "project"
    copy_files(work_dir, WITH_LOCAL_TEMPLATES)
    platform = LocalPlatform(
        directory=base / "platform",
        kube_dir=base / "kube",
        coder_port=free_port(),
        openbao_port=free_openbao_port(),
        oidc_user_role_field=oidc_user_role_field,
    )
    try:
        env = toolchain_env()
        stack_file = _write_e2e_stack(work_dir, platform)
        if edit_stack is not None:
            edit_stack_config(stack_file, edit_stack)
        endpoints = platform.up(stack_file)
    except BaseException:  # a part half started (a timeout included) must not outlive the run
        platform.down()
        raise
    env |= {"KUBECONFIG": endpoints.kubeconfig, "VAULT_TOKEN": platform.openbao.root_token()}
    env.pop(CODER_URL_ENV, None)
    return Mission(work_dir, platform, env)
