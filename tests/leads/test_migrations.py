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


@pytest.fixture(autouse=True)
def _latest_schema_after():
    """Each test leaves the schema as it found it (migrated to the end), for the tests that run after it."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


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


@pytest.mark.django_db(transaction=True)
def test_0015_moves_each_created_record_to_its_lead_and_back():
    apps = _migrate(("leads", "0014_open_follow_up_owner"))
    Lead, ImportJob = apps.get_model("leads", "Lead"), apps.get_model("leads", "ImportJob")
    ImportRecord = apps.get_model("leads", "ImportRecord")
    expo, fair = (ImportJob.objects.create(file_name=name, stored_path=name) for name in ("expo.csv", "fair.csv"))
    ada, bea, cy, dan = (Lead.objects.create(first_name=name) for name in ("Ada", "Bea", "Cy", "Dan"))
    for job, lead, action, row in [
        (expo, ada, "created", 2),
        (expo, bea, "created", 3),
        (fair, bea, "created", 5),  # a merge of two imported leads left Bea two: the earliest import is hers
        (expo, cy, "merged", 4),
        (fair, dan, "created", 2),
        (expo, dan, "merged", 7),
    ]:
        ImportRecord.objects.create(job=job, lead=lead, action=action, row_number=row)

    apps = _migrate(("leads", "0015_lead_import_job"))
    Lead, ImportRecord = apps.get_model("leads", "Lead"), apps.get_model("leads", "ImportRecord")
    columns = Lead.objects.order_by("first_name").values_list("first_name", "import_job__file_name", "import_row")
    assert list(columns) == [("Ada", "expo.csv", 2), ("Bea", "expo.csv", 3), ("Cy", None, None), ("Dan", "fair.csv", 2)]
    records = ImportRecord.objects.values_list("lead__first_name", "job__file_name", "row_number")
    assert sorted(records) == [("Bea", "fair.csv", 5), ("Cy", "expo.csv", 4), ("Dan", "expo.csv", 7)]

    apps = _migrate(("leads", "0014_open_follow_up_owner"))
    records = apps.get_model("leads", "ImportRecord").objects.values_list(
        "lead__first_name", "job__file_name", "action", "row_number"
    )
    assert sorted(records) == [
        ("Ada", "expo.csv", "created", 2),
        ("Bea", "expo.csv", "created", 3),
        ("Bea", "fair.csv", "merged", 5),
        ("Cy", "expo.csv", "merged", 4),
        ("Dan", "expo.csv", "merged", 7),
        ("Dan", "fair.csv", "created", 2),
    ]

    # There and back again, the database's triggers on leads still work (SQLite rebuilds the table for the reverse).
    apps = _migrate(("leads", "0015_lead_import_job"))
    Lead, FollowUp = apps.get_model("leads", "Lead"), apps.get_model("leads", "FollowUp")
    raj = apps.get_model("auth", "User").objects.create(username="raj")
    follow_up = FollowUp.objects.create(lead_id=ada.pk, due_at="2026-12-01T09:00:00Z", reason="manual")
    Lead.objects.filter(pk=ada.pk).update(owner=raj)
    assert FollowUp.objects.get(pk=follow_up.pk).owner_id == raj.pk
