"""Less for an import to write per lead.

- `lead_last_conversation`: no query filters or sorts on last_conversation_at alone (the stale list reads
  `lead_stale_scan`); every new or merged lead paid for it.
- `import_record_job_action`: a job's records by action are read by undo and the end-of-job referral rescore,
  once per job; the job's part of `import_record_one_per_lead (job, lead)` serves them.
- A lead an import created no longer gets an "Imported from ..." timeline entry: the lead page reads that
  line from its import record. The entries earlier imports wrote (they carry their job's id) go, or those
  leads would show it twice.
"""

from django.db import migrations


def drop_import_entries(apps, schema_editor):
    TimelineEntry = apps.get_model("leads", "TimelineEntry")
    TimelineEntry.objects.filter(kind="imported", data__has_key="import_job").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0012_lead_created_replaces_cohort"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="importrecord", name="import_record_job_action"),
        migrations.RemoveIndex(model_name="lead", name="lead_last_conversation"),
        migrations.RunPython(drop_import_entries, migrations.RunPython.noop),
    ]
