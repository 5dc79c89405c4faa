"""Template access endpoints: a template's ACL (Premium: ``template_rbac``).

Facts from Coder 2.36 (``enterprise/coderd/templates.go``, ``codersdk/templates.go``): ``GET
/templates/{id}/acl`` lists the users and groups with a role on the template (``use`` or
``admin``; JSON ``users`` and ``group``), ``PATCH /templates/{id}/acl`` takes ``user_perms`` and
``group_perms`` keyed by id, a role each, ``""`` removing the entry, and changes only the entries
named. Both routes sit behind the ``template_rbac`` feature (403 "Template RBAC is a Premium
feature. Contact sales!" without it). The organization's Everyone group has the organization's
id; a new template grants it ``use`` unless created with ``disable_everyone_group_access``.
"""

from __future__ import annotations

from collections.abc import Mapping

from coder_platform.coder_api.core import segment
from coder_platform.coder_api.models import TemplateAcl
from coder_platform.coder_api.people import PeopleEndpoints
from coder_platform.contracts import TEMPLATE_ACCESS_FEATURE

# codersdk.TemplateRole: the roles an ACL entry may hold, and the one that removes an entry.
TEMPLATE_ROLES = ("use", "admin")
REMOVED_ROLE = ""
# coderd's database.EveryoneGroup: the reserved name of each organization's Everyone group.
EVERYONE_GROUP = "Everyone"


class TemplateAccessEndpoints(PeopleEndpoints):
    """``/templates/{id}/acl``."""

    def get_template_acl(self, template_id: str) -> TemplateAcl | None:
        """GET /templates/{id}/acl; None when the template is gone (404). Without the
        entitlement: CoderNotEntitledError."""
        path = f"/templates/{segment(template_id)}/acl"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        self._raise_if_not_entitled(response, "GET", TEMPLATE_ACCESS_FEATURE)
        return self._parse(TemplateAcl, "GET", path, self._check(response, "GET"))

    def update_template_acl(
        self,
        template_id: str,
        *,
        user_perms: Mapping[str, str] | None = None,
        group_perms: Mapping[str, str] | None = None,
    ) -> None:
        """PATCH /templates/{id}/acl: each named user or group (by id) gets its role, ``""``
        removes it; entries not named are left as they are."""
        path = f"/templates/{segment(template_id)}/acl"
        body = {"user_perms": dict(user_perms or {}), "group_perms": dict(group_perms or {})}
        response = self._send("PATCH", path, json=body)
        self._raise_if_not_entitled(response, "PATCH", TEMPLATE_ACCESS_FEATURE)
        self._check(response, "PATCH")
