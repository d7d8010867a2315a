"""Each call carries its lead's owner now, kept so by the database (triggers), whoever writes.

Today's "calls done today" is the calls of the day on the leads a rep owns now (a manager's call on the rep's lead
counts; a re-owned lead's calls go with it). Counted by `call_lead_owner_time (lead_owner, called_at)` it reads the
rep's own calls of the day, not the team's joined to the rep's 3.3k leads (docs/benchmarks.md, Load). The triggers
set it when a call is written or moved to another lead (a merge) and follow a lead's change of owner (the services,
the admin, the importer, SQL).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRESQL_FORWARD = [
    # The new foreign key's checks now, not at commit: the index below cannot be built with checks pending.
    "SET CONSTRAINTS ALL IMMEDIATE",
    "UPDATE calls_call c SET lead_owner_id = l.owner_id FROM leads_lead l WHERE l.id = c.lead_id AND l.owner_id IS NOT NULL",
    """
    CREATE FUNCTION calls_call_lead_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.lead_owner_id := (SELECT owner_id FROM leads_lead WHERE id = NEW.lead_id);
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER call_lead_owner BEFORE INSERT OR UPDATE OF lead_id, lead_owner_id ON calls_call
    FOR EACH ROW EXECUTE FUNCTION calls_call_lead_owner()
    """,
    """
    CREATE FUNCTION calls_lead_owner_to_calls() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE calls_call SET lead_owner_id = NEW.owner_id
        WHERE lead_id = NEW.id AND lead_owner_id IS DISTINCT FROM NEW.owner_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER lead_owner_to_calls AFTER UPDATE OF owner_id ON leads_lead
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION calls_lead_owner_to_calls()
    """,
    "SET CONSTRAINTS ALL DEFERRED",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS lead_owner_to_calls ON leads_lead",
    "DROP FUNCTION IF EXISTS calls_lead_owner_to_calls()",
    "DROP TRIGGER IF EXISTS call_lead_owner ON calls_call",
    "DROP FUNCTION IF EXISTS calls_call_lead_owner()",
]

# SQLite: the row is corrected right after it is written (recursive triggers are off).
_SQLITE_OWNER_OF_LEAD = "(SELECT owner_id FROM leads_lead WHERE id = NEW.lead_id)"
SQLITE_FORWARD = [
    "UPDATE calls_call SET lead_owner_id = (SELECT owner_id FROM leads_lead WHERE leads_lead.id = calls_call.lead_id)",
    *(
        f"""
        CREATE TRIGGER call_lead_owner_{name} AFTER {event} ON calls_call
        FOR EACH ROW WHEN NEW.lead_owner_id IS NOT {_SQLITE_OWNER_OF_LEAD}
        BEGIN
            UPDATE calls_call SET lead_owner_id = {_SQLITE_OWNER_OF_LEAD} WHERE id = NEW.id;
        END
        """
        for name, event in (("insert", "INSERT"), ("update", "UPDATE OF lead_id, lead_owner_id"))
    ),
    """
    CREATE TRIGGER lead_owner_to_calls AFTER UPDATE OF owner_id ON leads_lead
    FOR EACH ROW WHEN OLD.owner_id IS NOT NEW.owner_id
    BEGIN
        UPDATE calls_call SET lead_owner_id = NEW.owner_id WHERE lead_id = NEW.id AND lead_owner_id IS NOT NEW.owner_id;
    END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS lead_owner_to_calls",
    "DROP TRIGGER IF EXISTS call_lead_owner_update",
    "DROP TRIGGER IF EXISTS call_lead_owner_insert",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0003_rep_call_hours"),
        ("leads", "0014_open_follow_up_owner"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="lead_owner",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
        migrations.AddIndex(
            model_name="call",
            index=models.Index(fields=["lead_owner", "called_at"], name="call_lead_owner_time"),
        ),
    ]
