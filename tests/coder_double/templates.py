"""The template endpoints of the Coder double: files, template versions and their jobs."""

from __future__ import annotations

from dataclasses import dataclass

from tests.coder_double.core import CoderDoubleCore


@dataclass
class TemplatesDouble(CoderDoubleCore):
    """Extends the core with ``/files``, ``/templateversions`` and template writes."""
