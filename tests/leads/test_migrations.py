"""Data migrations, run back and forth on the test database."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE, AFTER = ("leads", "0012_lead_created_replaces_cohort"), ("leads", "0013_import_writes_less")


def _migrate(target: tuple[str, str]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_0013_drops_the_import_entries_that_records_now_show():
    apps = _migrate(BEFORE)
    Lead, TimelineEntry = apps.get_model("leads", "Lead"), apps.get_model("leads", "TimelineEntry")
    lead = Lead.objects.create(first_name="Ada", email="ada@example.com")
    TimelineEntry.objects.create(lead=lead, kind="imported", summary="Imported from x.csv", data={"import_job": 1})
    TimelineEntry.objects.create(lead=lead, kind="imported", summary="Imported from Demo Expo")  # demo data: kept
    TimelineEntry.objects.create(lead=lead, kind="met_again", summary="Met again", data={"import_job": 1})

    apps = _migrate(AFTER)
    kept = apps.get_model("leads", "TimelineEntry").objects.order_by("summary").values_list("summary", flat=True)
    assert list(kept) == ["Imported from Demo Expo", "Met again"]
