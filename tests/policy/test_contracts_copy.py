"""The policy pack's copies of project contracts agree with the originals.

The pack runs in its own virtualenv and keeps a copy of what it needs; a copy that drifts would
let the pack pass an image the program refuses, or the other way round.
"""

from __future__ import annotations

import pytest

from coder_platform import contracts
from coder_platform.contracts import is_pinned_image
from coder_platform.specs import postgres_tls
from coder_platform.specs.cnpg import BARMAN_PLUGIN
from components.operators import BARMAN_CLOUD_CHART, CNPG_CHART
from policy.lib import postgres_uri, resources
from policy.lib.images import is_pinned
from policy.rules.cnpg_recovery_archive_isolation import rule as archive_isolation
from policy.rules.reconciled_stack_without_operators import rule as without_operators
from policy.rules.token_rotation import rule as token_rotation

IMAGES = [
    "ghcr.io/coder/coder:v2.36.1",
    "ghcr.io/coder/coder",
    "ghcr.io/coder/coder:latest",
    "ghcr.io/coder/coder:LATEST",
    "registry.local:5000/runner",
    "registry.local:5000/runner:1.2.3",
    "runner@sha256:" + "a" * 64,
    "runner@sha256:abc",
    "runner:",
]


@pytest.mark.parametrize("image", IMAGES)
def test_pack_and_program_agree_on_pinned_images_when_given_the_same_reference(image: str) -> None:
    assert is_pinned(image) == is_pinned_image(image)


def test_pack_reads_the_type_tokens_the_program_registers_when_checking_seeded_resources() -> None:
    assert (
        resources.CODER_FIRST_USER,
        resources.CODER_API_TOKEN,
        resources.CODER_USER,
        resources.CODER_GROUP,
        resources.CODER_LICENSE,
        resources.CODER_TEMPLATE,
        resources.CODER_TEMPLATE_ACCESS,
        resources.CODER_EVERYONE_GROUP,
    ) == (
        contracts.CODER_FIRST_USER_TYPE,
        contracts.CODER_API_TOKEN_TYPE,
        contracts.CODER_USER_TYPE,
        contracts.CODER_GROUP_TYPE,
        contracts.CODER_LICENSE_TYPE,
        contracts.CODER_TEMPLATE_TYPE,
        contracts.CODER_TEMPLATE_ACCESS_TYPE,
        contracts.CODER_EVERYONE_GROUP_TYPE,
    )
    assert contracts.CODER_TEMPLATE_TYPE.startswith(resources.CODER_DYNAMIC_PREFIX)


def test_pack_finds_the_reconciler_cronjob_by_the_labels_the_program_sets() -> None:
    assert token_rotation.COMPONENT_LABEL == contracts.COMPONENT_LABEL
    assert token_rotation.RECONCILER == contracts.RECONCILER_COMPONENT
    assert token_rotation.INTERVAL_ANNOTATION == contracts.INTERVAL_ANNOTATION


def test_pack_knows_the_reconciler_and_the_operator_charts_the_program_renders() -> None:
    assert without_operators.COMPONENT_LABEL == contracts.COMPONENT_LABEL
    assert without_operators.RECONCILER == contracts.RECONCILER_COMPONENT
    assert set(without_operators.OPERATOR_CHARTS) == {CNPG_CHART, BARMAN_CLOUD_CHART}


def test_pack_and_program_name_the_same_barman_plugin_when_checking_archivers() -> None:
    assert archive_isolation.BARMAN_PLUGIN == BARMAN_PLUGIN


def test_pack_reads_the_type_token_of_the_programs_own_vault_secret() -> None:
    assert resources.VAULT_API_KV == contracts.VAULT_KV_SECRET_TYPE


POSTGRES_URIS = [
    "postgresql://u:p@db-rw.ns.svc:5432/app?sslmode=verify-full&sslrootcert=/etc/ca/ca.crt",
    "postgres://u:p@db-rw.ns.svc/app?sslmode=verify-full&sslrootcert=/etc/ca/ca.crt",
    "POSTGRESQL://u:p@db-rw/app?sslmode=verify-full&sslrootcert=/ca.crt",
    "postgresql://u:p@db-rw.ns.svc:5432/app?sslmode=require",
    "postgresql://u:p@db-rw.ns.svc:5432/app?sslmode=verify-ca&sslrootcert=/ca.crt",
    "postgresql://u:p@db-rw.ns.svc:5432/app?sslmode=verify-full",
    "postgresql://u:p@db-rw.ns.svc:5432/app?sslmode=verify-full&sslmode=disable&sslrootcert=/c",
    "postgresql://u:p@db-rw.ns.svc:5432/app",
    "https://coder.corp.internal",
    "not a uri at all",
]


def test_pack_and_program_agree_on_what_a_verified_postgres_uri_says() -> None:
    assert postgres_uri.VERIFIED_SSLMODE == postgres_tls.VERIFIED_SSLMODE
    assert postgres_uri.POSTGRES_SCHEMES == postgres_tls.POSTGRES_SCHEMES


@pytest.mark.parametrize("uri", POSTGRES_URIS)
def test_the_program_builds_a_query_the_pack_accepts_when_appended_to_any_uri(uri: str) -> None:
    """Whatever the URI's own query, the program's verified query is what the pack asks for."""
    base = uri.split("?", 1)[0]
    if not base.lower().startswith(postgres_tls.POSTGRES_SCHEMES):
        assert postgres_uri.tls_problem(uri) is None  # not a PostgreSQL URI: not judged
        return
    assert postgres_uri.tls_problem(f"{base}?{postgres_tls.verified_query()}") is None


def test_pack_and_program_refuse_the_sslmode_the_database_used_to_get() -> None:
    uri = "postgresql://u:p@db-rw.ns.svc:5432/app?sslmode=require"
    assert postgres_uri.tls_problem(uri) == "sslmode=require, not sslmode=verify-full"
