"""The pure spec builders: the shapes the database component and the restore drill share."""

from __future__ import annotations

from coder_platform.specs import cnpg, jobs


def test_cron_job_name_fits_what_kubernetes_accepts_when_the_stack_name_is_long() -> None:
    name = jobs.cron_job_name("coder-reconciler-" + "a" * 34 + "-tail")
    assert len(name) <= jobs.CRONJOB_NAME_MAX == 52
    assert not name.endswith(("-", "."))


def test_cron_job_name_is_unchanged_when_it_already_fits() -> None:
    assert jobs.cron_job_name("coder-restore-drill-dev") == "coder-restore-drill-dev"


def test_a_recovery_reads_the_archive_through_the_plugin_and_never_archives() -> None:
    source = cnpg.archive_source("coder-db-g1", "coder-db-store", "coder-db-g1")
    bootstrap = cnpg.recovery_bootstrap("coder-db-g1", "coder", "coder", "coder-db-app")

    assert source["plugin"]["name"] == cnpg.BARMAN_PLUGIN
    assert "isWALArchiver" not in source["plugin"]
    assert bootstrap["recovery"]["source"] == source["name"]
    assert "recoveryTarget" not in bootstrap["recovery"]


def test_a_point_in_time_recovery_names_its_target_when_one_is_given() -> None:
    bootstrap = cnpg.recovery_bootstrap("s", "coder", "coder", "app", "2026-11-30T04:00:00Z")
    assert bootstrap["recovery"]["recoveryTarget"] == {"targetTime": "2026-11-30T04:00:00Z"}
