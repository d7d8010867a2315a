"""The morning digest: who gets it when, what it says, never twice a day, opt-out, failures retried."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from leads.models import FollowUp
from tests.factories import CallFactory, FollowUpFactory, LeadFactory, UserFactory
from warmcrm.accounts import digest as digest_module
from warmcrm.accounts.digest import digest_send, digests_send_due
from warmcrm.accounts.models import Profile
from warmcrm.accounts.selectors import profile_for
from warmcrm.accounts.tasks import digests_send_due_task

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
TUESDAY_0705 = datetime(2026, 3, 10, 7, 5, tzinfo=LA)


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://crm.example.com"


@pytest.fixture
def west(db):
    rep = UserFactory(username="wes", first_name="Wes", email="wes@example.com", role="rep")
    profile = profile_for(rep)
    profile.time_zone, profile.digest_hour = "America/Los_Angeles", 7
    profile.save()
    return rep


@pytest.fixture
def day(west):
    """An overdue follow-up, one due this evening, an appointment today and a warm lead with nothing scheduled."""
    overdue = LeadFactory(owner=west, first_name="Olga", last_name="Overdue", company="Oldco")
    FollowUpFactory(lead=overdue, due_at=TUESDAY_0705 - timedelta(days=2), reason=FollowUp.Reason.CALL_BACK)
    due = LeadFactory(owner=west, first_name="Dora", last_name="Due")
    FollowUpFactory(lead=due, due_at=datetime(2026, 3, 10, 23, 30, tzinfo=LA))
    later = LeadFactory(owner=west, first_name="Larry", last_name="Later")
    FollowUpFactory(lead=later, due_at=datetime(2026, 3, 11, 9, 0, tzinfo=LA))
    meeting = LeadFactory(owner=west, first_name="Mia", last_name="Meeting")
    CallFactory(lead=meeting, appointment_at=datetime(2026, 3, 10, 14, 0, tzinfo=LA))
    FollowUpFactory(lead=meeting, due_at=datetime(2026, 3, 20, 9, 0, tzinfo=LA))
    LeadFactory(owner=west, first_name="Walt", last_name="Warm", warmth=88, warmth_band="hot")
    LeadFactory(first_name="Someone", last_name="Else", warmth=99)  # another rep's lead
    return west


def run(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return digests_send_due()


def test_the_digest_lists_overdue_due_today_appointments_and_warm_leads_with_links(day):
    assert run(TUESDAY_0705) == 1
    [message] = mail.outbox
    assert message.to == ["wes@example.com"]
    assert message.subject == "Your calls for Tuesday 10 March: 1 overdue"
    text = message.body
    html = {mime: body for body, mime in message.alternatives}["text/html"]
    for body in (text, html):
        assert "Olga Overdue" in body and "Dora Due" in body and "Mia Meeting" in body and "Walt Warm" in body
        assert "Larry Later" not in body and "Someone Else" not in body
        assert "https://crm.example.com/leads/today/" in body
        assert "https://crm.example.com/me/settings/" in body
    olga = day.leads.get(last_name="Overdue")
    assert f"https://crm.example.com/leads/{olga.pk}/" in text
    assert f'href="https://crm.example.com/leads/{olga.pk}/"' in html
    assert "23:30" in text  # due times in the rep's zone
    assert "14:00 Mia Meeting" in text
    assert text.index("OVERDUE") < text.index("DUE TODAY") < text.index("APPOINTMENTS") < text.index("WARMEST")


def test_html_part_escapes_lead_names(west):
    lead = LeadFactory(owner=west, first_name="<script>", last_name="Evil")
    FollowUpFactory(lead=lead, due_at=TUESDAY_0705)
    run(TUESDAY_0705)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_not_before_the_local_digest_hour(day):
    assert run(TUESDAY_0705 - timedelta(minutes=10)) == 0
    assert mail.outbox == []
    assert Profile.objects.get(user=day).last_digest_on is None


def test_never_twice_the_same_local_day_and_again_the_next_day(day):
    assert run(TUESDAY_0705) == 1
    assert run(TUESDAY_0705 + timedelta(minutes=15)) == 0
    assert run(TUESDAY_0705 + timedelta(hours=16)) == 0  # 23:05 local: still Tuesday there (Wednesday in UTC)
    assert len(mail.outbox) == 1
    assert Profile.objects.get(user=day).last_digest_on.isoformat() == "2026-03-10"
    assert run(TUESDAY_0705 + timedelta(days=1)) == 1
    assert len(mail.outbox) == 2


def test_a_second_worker_holding_a_stale_profile_cannot_send_again(day):
    stale_copy = Profile.objects.get(user=day)  # read before the first worker claimed the day
    with time_machine.travel(TUESDAY_0705, tick=False):
        assert digest_send(profile=Profile.objects.get(user=day), now=TUESDAY_0705) is True
        assert digest_send(profile=stale_copy, now=TUESDAY_0705) is False
    assert len(mail.outbox) == 1


def test_opted_out_users_get_nothing(day):
    Profile.objects.filter(user=day).update(digest_opt_out=True)
    assert run(TUESDAY_0705) == 0
    assert mail.outbox == []
    with time_machine.travel(TUESDAY_0705, tick=False):
        assert digest_send(profile=Profile.objects.get(user=day), now=TUESDAY_0705) is False
    assert mail.outbox == []


def test_not_on_days_off(day):
    Profile.objects.filter(user=day).update(working_days=[0, 2, 3, 4])  # Tuesday off
    assert run(TUESDAY_0705) == 0
    assert mail.outbox == []


def test_a_failed_send_is_retried_on_the_next_run(day, monkeypatch):
    def broken_send(self, fail_silently=False):
        raise OSError("SMTP server unreachable")

    monkeypatch.setattr(digest_module.EmailMultiAlternatives, "send", broken_send)
    assert run(TUESDAY_0705) == 0
    assert Profile.objects.get(user=day).last_digest_on is None  # the claim rolled back with the failure
    monkeypatch.undo()
    assert run(TUESDAY_0705 + timedelta(minutes=15)) == 1


def test_an_empty_day_sends_no_email_but_counts_as_done(west):
    assert run(TUESDAY_0705) == 0
    assert mail.outbox == []
    assert Profile.objects.get(user=west).last_digest_on.isoformat() == "2026-03-10"


def test_users_without_a_profile_get_one_with_the_defaults(settings):
    settings.DIGEST_DEFAULT_HOUR = 7
    settings.TIME_ZONE = "UTC"
    old = UserFactory(username="olduser", email="old@example.com", role="rep")
    LeadFactory(owner=old, warmth=70)
    assert not Profile.objects.filter(user=old).exists()
    assert run(datetime(2026, 3, 10, 7, 30, tzinfo=ZoneInfo("UTC"))) == 1
    assert Profile.objects.get(user=old).digest_hour == 7
    assert mail.outbox[0].to == ["old@example.com"]


def test_managers_digest_lists_slipping_leads_of_their_team(settings):
    settings.HYGIENE_ESCALATE_OVERDUE_DAYS = 2
    manager = UserFactory(username="mona", email="mona@example.com", role="manager")
    rep = UserFactory(username="rex", role="rep")
    slipping = LeadFactory(owner=rep, first_name="Sam", last_name="Slipping")
    FollowUpFactory(lead=slipping, due_at=TUESDAY_0705 - timedelta(days=5))
    fresh = LeadFactory(owner=rep, first_name="Fay", last_name="Fresh")
    FollowUpFactory(lead=fresh, due_at=TUESDAY_0705 - timedelta(hours=12))
    Profile.objects.filter(user=profile_for(manager).user).update(time_zone="America/Los_Angeles")
    assert run(TUESDAY_0705) == 1
    [message] = mail.outbox
    assert message.to == ["mona@example.com"]
    assert "SLIPPING IN YOUR TEAM (1)" in message.body
    assert "Sam Slipping (" in message.body and "Fay Fresh" not in message.body
    assert "https://crm.example.com/hygiene/slipping/" in message.body


def test_the_beat_task_runs_the_service(day):
    with time_machine.travel(TUESDAY_0705, tick=False):
        assert digests_send_due_task.apply().get() == 1


def test_the_digest_is_scheduled_every_15_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["morning-digests"]
    assert entry["task"] == digests_send_due_task.name
    assert entry["schedule"].minute == {0, 15, 30, 45}


def test_users_who_left_the_sales_team_get_no_digest(day):
    day.groups.clear()
    assert run(TUESDAY_0705) == 0
    assert mail.outbox == []
