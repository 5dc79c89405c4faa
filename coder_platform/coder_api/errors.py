"""The Coder API boundary's one exception hierarchy.

Every error names the endpoint (method and path) and, when Coder answered, its status and its
``message`` field, so a runner report shows *what* failed (contract C4). No error ever carries
request headers, request bodies or a token (contract C2: secrets never reach a log or a message).
"""

from __future__ import annotations


class CoderApiError(Exception):
    """A Coder API call failed; the base of every error this client raises."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        message: str,
        *,
        detail: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.detail = detail
        where = f"{method} /api/v2{path}"
        outcome = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"{where} failed ({outcome}): {message}")


class CoderCheckError(CoderApiError):
    """Coder answered, but the answer fails a check of ours (wrong identity, a cap too low).

    Not an HTTP failure, so the message says which check failed instead of "HTTP 200".
    """

    def __init__(self, method: str, path: str, message: str) -> None:
        super().__init__(method, path, None, message)
        where = f"{method} /api/v2{path}"
        Exception.__init__(self, f"{where}: check failed: {message}")


class CoderUnreachableError(CoderApiError):
    """Coder did not answer (connection error, timeout or 502/503/504) within the retry budget.

    ``maybe_applied``: a POST left and its answer was lost, so Coder may have applied it; it was
    not retried (see ``core.py``), and a caller that can check whether it landed may do so.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        message: str,
        *,
        detail: str = "",
        maybe_applied: bool = False,
    ) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(method, path, status, message, detail=detail)


class CoderAuthError(CoderApiError):
    """Coder refused the credentials (401) or the identity lacks the permission (403)."""


class CoderNotFoundError(CoderApiError):
    """The addressed object does not exist (404)."""


class CoderConflictError(CoderApiError):
    """The object already exists (409); idempotent callers treat this as success (C2)."""


class CoderTemplateInUseError(CoderApiError):
    """Coder refuses to delete a template while workspaces use it (400 "All workspaces must be
    deleted before a template can be removed."). ``workspace_count`` is None when the count
    could not be read."""

    def __init__(
        self, method: str, path: str, message: str, *, template: str, workspace_count: int | None
    ) -> None:
        super().__init__(method, path, 400, message)
        self.template = template
        self.workspace_count = workspace_count


class CoderJobTimeoutError(CoderApiError):
    """A provisioner job was still pending or running when the caller's deadline passed."""

    def __init__(self, method: str, path: str, message: str, *, last_status: str) -> None:
        super().__init__(method, path, None, message)
        self.last_status = last_status


class CoderNotEntitledError(CoderApiError):
    """Coder refuses a Premium feature without a license that grants it (403 "... is a Premium
    feature. Contact sales!"): groups need ``template_rbac``. Not a credential problem, so it is
    no ``CoderAuthError``: a caller must not retry it with another token."""

    def __init__(self, method: str, path: str, message: str, *, feature: str) -> None:
        super().__init__(method, path, 403, message)
        self.feature = feature


class CoderUserInUseError(CoderApiError):
    """Coder refuses to delete a user who owns workspaces (417 "You cannot delete a user that has
    workspaces. Delete their workspaces and try again!")."""

    def __init__(self, method: str, path: str, message: str, *, username: str) -> None:
        super().__init__(method, path, 417, message)
        self.username = username


class CoderRoleSyncError(CoderApiError):
    """Coder refuses to set an OIDC user's site roles while the IdP's role sync owns them (400
    "Cannot modify roles for OIDC users when role sync is enabled.", coderd ``putUserRoles``)."""

    def __init__(self, method: str, path: str, message: str, *, username: str) -> None:
        super().__init__(method, path, 400, message)
        self.username = username


class CoderSelfTargetError(CoderApiError):
    """Coder refuses this change on the caller's own account: nobody deletes themselves (403),
    suspends themselves or changes their own roles (400)."""

    def __init__(self, method: str, path: str, status: int, message: str, *, username: str) -> None:
        super().__init__(method, path, status, message)
        self.username = username
