"""An open follow-up's owner is its lead's owner, kept so by the database (triggers), whoever writes.

Today's counts, its follow-up list and the lead page's "Next" link can then read a rep's open follow-ups from
`follow_up_owner_due (owner, status, due_at)` instead of joining the team's every open follow-up to the rep's
leads (docs/benchmarks.md, Load). The services already set it (scheduling, re-owning, merging, the stale job);
the triggers also cover the writers that do not: the admin's owner field on a lead or a follow-up, the importer
giving an unowned lead an owner, SQL bulk updates. Closed follow-ups keep the owner they had.
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    # Existing rows first (open follow-ups whose lead changed owner outside the services).
    """
    UPDATE leads_followup f SET owner_id = l.owner_id FROM leads_lead l
    WHERE l.id = f.lead_id AND f.status = 'open' AND f.owner_id IS DISTINCT FROM l.owner_id
    """,
    """
    CREATE FUNCTION leads_follow_up_owner_of_lead() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.owner_id := (SELECT owner_id FROM leads_lead WHERE id = NEW.lead_id);
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER follow_up_open_owner BEFORE INSERT OR UPDATE OF owner_id, lead_id, status ON leads_followup
    FOR EACH ROW WHEN (NEW.status = 'open') EXECUTE FUNCTION leads_follow_up_owner_of_lead()
    """,
    """
    CREATE FUNCTION leads_lead_owner_to_open_follow_up() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE leads_followup SET owner_id = NEW.owner_id
        WHERE lead_id = NEW.id AND status = 'open' AND owner_id IS DISTINCT FROM NEW.owner_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER lead_owner_to_open_follow_up AFTER UPDATE OF owner_id ON leads_lead
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION leads_lead_owner_to_open_follow_up()
    """,
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS lead_owner_to_open_follow_up ON leads_lead",
    "DROP FUNCTION IF EXISTS leads_lead_owner_to_open_follow_up()",
    "DROP TRIGGER IF EXISTS follow_up_open_owner ON leads_followup",
    "DROP FUNCTION IF EXISTS leads_follow_up_owner_of_lead()",
]

# SQLite has no BEFORE-trigger assignment: the row is corrected right after it is written (recursive triggers are
# off, so the correcting UPDATE does not fire its own trigger again).
_SQLITE_OWNER_OF_LEAD = "(SELECT owner_id FROM leads_lead WHERE id = NEW.lead_id)"
SQLITE_FORWARD = [
    """
    UPDATE leads_followup SET owner_id = (SELECT owner_id FROM leads_lead WHERE leads_lead.id = leads_followup.lead_id)
    WHERE status = 'open'
      AND owner_id IS NOT (SELECT owner_id FROM leads_lead WHERE leads_lead.id = leads_followup.lead_id)
    """,
    *(
        f"""
        CREATE TRIGGER follow_up_open_owner_{name} AFTER {event} ON leads_followup
        FOR EACH ROW WHEN NEW.status = 'open' AND NEW.owner_id IS NOT {_SQLITE_OWNER_OF_LEAD}
        BEGIN
            UPDATE leads_followup SET owner_id = {_SQLITE_OWNER_OF_LEAD} WHERE id = NEW.id;
        END
        """
        for name, event in (("insert", "INSERT"), ("update", "UPDATE OF owner_id, lead_id, status"))
    ),
    """
    CREATE TRIGGER lead_owner_to_open_follow_up AFTER UPDATE OF owner_id ON leads_lead
    FOR EACH ROW WHEN OLD.owner_id IS NOT NEW.owner_id
    BEGIN
        UPDATE leads_followup SET owner_id = NEW.owner_id
        WHERE lead_id = NEW.id AND status = 'open' AND owner_id IS NOT NEW.owner_id;
    END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS lead_owner_to_open_follow_up",
    "DROP TRIGGER IF EXISTS follow_up_open_owner_update",
    "DROP TRIGGER IF EXISTS follow_up_open_owner_insert",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_import_writes_less"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
