"""Template endpoints: file upload, template versions and their provisioner jobs, templates."""

from __future__ import annotations

from coder_platform.coder_api.core import CoderClientCore


class TemplateEndpoints(CoderClientCore):
    """``/files``, ``/templateversions``, ``/templates`` and the organization's template routes."""
