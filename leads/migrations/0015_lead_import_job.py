"""The import that created a lead becomes two columns of the lead (`import_job`, `import_row`) instead of an
import record: the import writes one row per new lead, not two, and checks one foreign key, not two more.
Import records are left for the imports that merged into a lead, so their `action` goes.

A lead with more than one "created" record (a merge of two imported leads moved the other's to it) keeps the
earliest import as its own; the others stay as records, that is as imports that reached it.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

CHUNK = 2000

# SQLite rebuilds leads_lead to drop a foreign key column (this migration's reverse), and a rebuild drops the
# table's triggers and fails on the triggers of other tables that name it (leads 0014, calls): set aside around
# the schema change and put back as they were.
_triggers_set_aside: list[str] = []


def _sqlite_triggers_aside(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%leads_lead%'")
        triggers = cursor.fetchall()
    _triggers_set_aside[:] = [sql for _, sql in triggers]
    for name, _ in triggers:
        schema_editor.execute(f'DROP TRIGGER "{name}"')


def _sqlite_triggers_back(apps, schema_editor):
    for sql in _triggers_set_aside:
        schema_editor.execute(sql)
    _triggers_set_aside.clear()


def records_to_columns(apps, schema_editor):
    Lead, ImportRecord = apps.get_model("leads", "Lead"), apps.get_model("leads", "ImportRecord")
    created = ImportRecord.objects.filter(action="created")
    first = created.filter(lead_id=OuterRef("pk")).order_by("job_id")
    leads = Lead.objects.filter(pk__in=created.values("lead_id"))
    leads.update(
        import_job_id=Subquery(first.values("job_id")[:1]), import_row=Subquery(first.values("row_number")[:1])
    )
    # The record each lead took as its columns goes; every other record now means "merged".
    created.filter(lead__import_job_id=models.F("job_id")).delete()


def columns_to_records(apps, schema_editor):
    Lead, ImportRecord = apps.get_model("leads", "Lead"), apps.get_model("leads", "ImportRecord")
    imported = Lead.objects.filter(import_job__isnull=False).values_list("pk", "import_job_id", "import_row")
    batch = []
    for lead_id, job_id, row in imported.order_by("pk").iterator(chunk_size=CHUNK):
        batch.append(ImportRecord(lead_id=lead_id, job_id=job_id, action="created", row_number=row or 0))
        if len(batch) == CHUNK:
            ImportRecord.objects.bulk_create(batch)
            batch = []
    ImportRecord.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("leads", "0014_open_follow_up_owner")]

    operations = [
        migrations.RunPython(_sqlite_triggers_aside, _sqlite_triggers_back),
        migrations.AddField(
            model_name="lead",
            name="import_job",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="created_leads",
                to="leads.importjob",
            ),
        ),
        migrations.AddField(
            model_name="lead",
            name="import_row",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(records_to_columns, columns_to_records),
        # With a default first, so that the reverse can add the column back to the rows that are left.
        migrations.AlterField(
            model_name="importrecord",
            name="action",
            field=models.CharField(
                choices=[("created", "Created"), ("merged", "Merged")], default="merged", max_length=10
            ),
        ),
        migrations.RemoveField(model_name="importrecord", name="action"),
        migrations.RunPython(_sqlite_triggers_back, _sqlite_triggers_aside),
    ]
