"""The call totals the dashboard reads: the lead's first call / conversation / appointment and RepCallHour.

Each way calls are written (call_log, the admin, deletions, a lead merge, seed_demo, the migration's
backfill) must leave the same totals a recount from the calls gives; the expected values are by hand.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client

from calls.models import Call, Outcome, RepCallHour
from calls.services import call_log, call_totals_rebuild
from leads.models import Lead
from tests.dashboard.conftest import NOW
from tests.factories import CallFactory, LeadFactory, UserFactory
from warmcrm.accounts.models import Profile
from warmcrm.demo import seed_demo
from warmcrm.hygiene.services import lead_merge

pytestmark = pytest.mark.django_db

FIRST_FIELDS = ("first_call_at", "first_conversation_at", "first_appointment_set_at")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def firsts(lead: Lead) -> tuple:
    lead.refresh_from_db()
    return tuple(getattr(lead, name) for name in FIRST_FIELDS)


def hours() -> list[tuple]:
    return list(
        RepCallHour.objects.order_by("hour", "rep__username").values_list(
            "hour", "rep__username", "calls", "conversations", "appointments"
        )
    )


def all_totals() -> tuple[list, list]:
    leads = list(Lead.objects.order_by("pk").values_list("pk", *FIRST_FIELDS))
    return leads, hours()


def assert_a_recount_agrees() -> None:
    """What the writers kept equals what a recount from the calls gives."""
    kept = all_totals()
    call_totals_rebuild()
    assert all_totals() == kept


@pytest.fixture
def reps(frozen):
    return UserFactory(username="rita", role="rep"), UserFactory(username="raj", role="rep")


def test_call_log_keeps_the_first_call_conversation_and_appointment_in_any_order(reps):
    rita, _ = reps
    lead = LeadFactory(owner=rita, created_at=at(1, 9))
    call_log(lead=lead, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(10, 9))
    assert firsts(lead) == (at(10, 9), None, None)
    call_log(lead=lead, rep=rita, outcome=Outcome.CONNECTED_OTHER, called_at=at(12, 9))
    assert firsts(lead) == (at(10, 9), at(12, 9), None)
    call_log(lead=lead, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(14, 9))
    assert firsts(lead) == (at(10, 9), at(12, 9), at(14, 9))
    # Logged late: a call before all the others is now the first of each.
    call_log(lead=lead, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(9, 9))
    assert firsts(lead) == (at(9, 9), at(9, 9), at(9, 9))
    assert_a_recount_agrees()


def test_call_log_adds_each_call_to_its_reps_utc_hour(reps):
    rita, raj = reps
    lead = LeadFactory(owner=rita)
    call_log(lead=lead, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(17, 9, 5))
    call_log(lead=lead, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(17, 9, 59))
    call_log(lead=lead, rep=rita, outcome=Outcome.CALL_BACK, called_at=at(17, 10), call_back_on=at(20, 9).date())
    call_log(lead=lead, rep=raj, outcome=Outcome.WRONG_NUMBER, called_at=at(17, 9, 30))
    assert hours() == [
        (at(17, 9), "raj", 1, 0, 0),
        (at(17, 9), "rita", 2, 1, 1),
        (at(17, 10), "rita", 1, 1, 0),
    ]
    assert_a_recount_agrees()


def test_call_log_adds_to_an_hour_a_recount_wrote(reps):
    """The upsert finds the recount's row (same stored hour), so an hour never has two rows."""
    rita, _ = reps
    lead = LeadFactory(owner=rita)
    CallFactory(lead=lead, rep=rita, called_at=at(17, 9, 10), outcome=Outcome.NOT_INTERESTED)
    call_totals_rebuild()
    call_log(lead=lead, rep=rita, outcome=Outcome.VOICEMAIL, called_at=at(17, 9, 40))
    assert hours() == [(at(17, 9), "rita", 2, 1, 0)]
    assert firsts(lead) == (at(17, 9, 10), at(17, 9, 10), None)


def test_deleting_calls_or_their_lead_recounts_the_totals(reps):
    rita, raj = reps
    kept, dropped = LeadFactory(owner=rita), LeadFactory(owner=raj)
    call_log(lead=kept, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(16, 9))
    call_log(lead=kept, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(17, 9))
    call_log(lead=dropped, rep=raj, outcome=Outcome.CONNECTED_OTHER, called_at=at(16, 9, 30))
    call_log(lead=dropped, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(16, 9, 45))

    Call.objects.filter(lead=kept, called_at=at(16, 9)).delete()
    assert firsts(kept) == (at(17, 9), None, None)
    assert hours() == [(at(16, 9), "raj", 1, 1, 0), (at(16, 9), "rita", 1, 0, 0), (at(17, 9), "rita", 1, 0, 0)]

    dropped.delete()  # its calls go with it
    assert hours() == [(at(17, 9), "rita", 1, 0, 0)]


def test_a_merged_lead_keeps_the_earlier_firsts(reps):
    rita, _ = reps
    survivor, other = LeadFactory(owner=rita), LeadFactory(owner=rita)
    call_log(lead=survivor, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(10, 9))
    call_log(lead=survivor, rep=rita, outcome=Outcome.CONNECTED_OTHER, called_at=at(15, 9))
    call_log(lead=other, rep=rita, outcome=Outcome.CALL_BACK, called_at=at(12, 9), call_back_on=at(25, 9).date())
    call_log(lead=other, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(13, 9))
    hours_before = hours()

    lead_merge(survivor=survivor, other=other, actor=rita)

    assert firsts(survivor) == (at(10, 9), at(12, 9), at(13, 9))
    assert hours() == hours_before  # the same calls by the same reps at the same times
    assert_a_recount_agrees()


def test_correcting_a_call_in_the_admin_recounts_both_hours_and_the_lead(reps):
    rita, _ = reps
    admin = UserFactory(username="adam", role="admin", is_superuser=True)
    lead = LeadFactory(owner=rita)
    call_log(lead=lead, rep=rita, outcome=Outcome.APPOINTMENT_SET, called_at=at(16, 9, 15))
    call_log(lead=lead, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(17, 11))
    call = Call.objects.get(called_at=at(16, 9, 15))
    client = Client()
    client.force_login(admin)
    response = client.post(
        f"/admin/calls/call/{call.pk}/change/",
        {
            "lead": lead.pk,
            "rep": rita.pk,
            "called_at_0": "2026-03-16",
            "called_at_1": "14:20:00",
            "direction": "outbound",
            "outcome": Outcome.VOICEMAIL,
            "duration_seconds": 0,
            "notes": "",
            "call_back_on": "",
            "appointment_at_0": "",
            "appointment_at_1": "",
            "created_at_0": "2026-03-16",
            "created_at_1": "09:15:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert hours() == [(at(16, 14), "rita", 1, 0, 0), (at(17, 11), "rita", 1, 0, 0)]
    assert firsts(lead) == (at(16, 14, 20), None, None)


def test_seed_demo_leaves_the_totals_a_recount_gives(frozen):
    seed_demo(leads=120, log=lambda message: None)
    leads, rep_hours = all_totals()
    assert sum(row[2] for row in rep_hours) == Call.objects.exclude(rep=None).count() > 0
    called = Lead.objects.filter(calls__isnull=False).distinct().count()
    assert sum(1 for row in leads if row[1] is not None) == called
    assert_a_recount_agrees()


def test_the_migration_backfills_existing_calls(reps):
    rita, raj = reps
    lead, quiet = LeadFactory(owner=rita), LeadFactory(owner=rita)
    CallFactory(lead=lead, rep=rita, called_at=at(11, 8, 30), outcome=Outcome.NO_ANSWER)
    CallFactory(lead=lead, rep=raj, called_at=at(11, 8, 50), outcome=Outcome.CALL_BACK)
    CallFactory(lead=lead, rep=rita, called_at=at(12, 16), outcome=Outcome.APPOINTMENT_SET)
    CallFactory(lead=lead, rep=None, called_at=at(13, 16), outcome=Outcome.APPOINTMENT_SET)  # rep since deleted
    migration = importlib.import_module("calls.migrations.0003_rep_call_hours")

    migration.backfill_call_totals(apps, SimpleNamespace(connection=connection))

    assert firsts(lead) == (at(11, 8, 30), at(11, 8, 50), at(12, 16))
    assert firsts(quiet) == (None, None, None)
    assert hours() == [(at(11, 8), "raj", 1, 1, 0), (at(11, 8), "rita", 1, 0, 0), (at(12, 16), "rita", 1, 1, 1)]


def test_rep_activity_counts_the_readers_own_days_in_a_half_hour_zone(reps):
    """Asia/Kolkata is UTC+5:30: its Monday starts at 18:30 UTC on Sunday, inside a UTC hour."""
    rita, _ = reps
    lead = LeadFactory(owner=rita)
    call_log(lead=lead, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(15, 18, 20))  # Sunday 23:50 there
    call_log(lead=lead, rep=rita, outcome=Outcome.CONNECTED_OTHER, called_at=at(15, 18, 40))  # Monday 00:10
    call_log(lead=lead, rep=rita, outcome=Outcome.NO_ANSWER, called_at=at(16, 9))

    def week_calls(time_zone: str) -> list[tuple]:
        manager = UserFactory(role="manager")
        Profile.objects.update_or_create(user=manager, defaults={"time_zone": time_zone})
        client = Client()
        client.force_login(manager)
        response = client.get("/dashboard/", {"period": "week"})
        assert response.status_code == 200
        return [(row.name, row.calls, row.conversations) for row in response.context["reps"] if row.calls]

    name = rita.get_full_name()
    assert week_calls("Asia/Kolkata") == [(name, 2, 1)]
    assert week_calls("UTC") == [(name, 1, 0)]
    assert NOW.weekday() == 2  # the week above is Monday 16 - Wednesday 18 March


def test_the_rebuild_command_recounts_calls_written_by_sql(reps):
    rita, _ = reps
    lead = LeadFactory(owner=rita)
    CallFactory(lead=lead, rep=rita, called_at=at(16, 10, 5), outcome=Outcome.CALL_BACK)
    CallFactory(lead=lead, rep=rita, called_at=at(16, 10, 35), outcome=Outcome.NO_ANSWER)
    assert hours() == [] and firsts(lead) == (None, None, None)  # the factory skipped call_log
    out = StringIO()

    call_command("call_totals_rebuild", stdout=out)

    assert hours() == [(at(16, 10), "rita", 2, 1, 0)]
    assert firsts(lead) == (at(16, 10, 5), at(16, 10, 5), None)
    assert "Recounted the call totals: 1 rep-hours" in out.getvalue()
