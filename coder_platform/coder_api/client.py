"""CoderClient: the one HTTP client for Coder's REST API (``/api/v2``).

Shared by the dynamic providers and the runner so that retries, error typing and redaction are
decided once (``core``); each group of endpoints lives in a module of its own and is composed
here, so every caller holds one client type.
"""

from __future__ import annotations

from coder_platform.coder_api.access import TemplateAccessEndpoints
from coder_platform.coder_api.templates import TemplateEndpoints


class CoderClient(TemplateEndpoints, TemplateAccessEndpoints):
    """A small, synchronous Coder API client; see ``core`` for the rules it keeps."""
