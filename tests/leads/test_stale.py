"""The periodic job: decay over time, and one stale follow-up per eligible lead, never more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from leads.models import ConnectionType, FollowUp, Lead, Stage
from leads.services import lead_snooze_stale, warmth_recompute_all
from tests.factories import FollowUpFactory, LeadFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def stale_lead(rep, **fields) -> Lead:
    """An event lead (warm band) whose last conversation was 8 days ago: past the 7-day warm threshold."""
    values = {
        "owner": rep,
        "connection_type": ConnectionType.EVENT_ASKED,
        "created_at": NOW - timedelta(days=30),
        "last_conversation_at": NOW - timedelta(days=8),
    }
    return LeadFactory(**{**values, **fields})


def stale_follow_ups() -> list[int]:
    return list(FollowUp.objects.filter(reason=FollowUp.Reason.STALE, status="open").values_list("lead_id", flat=True))


def test_one_stale_follow_up_per_eligible_lead_and_none_on_a_second_run(rep):
    lead = stale_lead(rep)
    fresh = stale_lead(rep, last_conversation_at=NOW - timedelta(days=2))
    first = warmth_recompute_all()
    assert first.follow_ups_created == 1
    assert stale_follow_ups() == [lead.pk]
    follow_up = FollowUp.objects.get(lead=lead)
    assert (follow_up.owner, follow_up.due_at, follow_up.created_by) == (rep, NOW, None)
    second = warmth_recompute_all()
    assert second.follow_ups_created == 0
    assert stale_follow_ups() == [lead.pk]
    assert fresh.pk not in stale_follow_ups()


def test_hot_leads_go_stale_sooner_than_lukewarm_ones(rep):
    hot = stale_lead(rep, last_conversation_at=NOW - timedelta(days=4), last_appointment_at=NOW - timedelta(days=4))
    lukewarm = stale_lead(
        rep, connection_type=ConnectionType.PRIOR_CONTACT, last_conversation_at=NOW - timedelta(days=4)
    )
    warmth_recompute_all()
    assert Lead.objects.get(pk=hot.pk).warmth_band == "hot"
    assert Lead.objects.get(pk=lukewarm.pk).warmth_band == "lukewarm"
    assert stale_follow_ups() == [hot.pk]


def test_contact_frequency_cap(rep, frozen):
    lead = stale_lead(rep, last_attempt_at=NOW - timedelta(days=1))
    warmth_recompute_all()
    assert stale_follow_ups() == []
    frozen.shift(timedelta(days=1, seconds=1))
    warmth_recompute_all()
    assert stale_follow_ups() == [lead.pk]


def test_not_interested_cool_off(rep, frozen):
    said_no = NOW - timedelta(days=30)
    lead = stale_lead(rep, last_conversation_at=said_no, not_interested_at=said_no)
    warmth_recompute_all()
    assert stale_follow_ups() == []
    frozen.shift(timedelta(days=61))
    warmth_recompute_all()
    assert stale_follow_ups() == [lead.pk]


def test_do_not_call_keeps_a_score_but_is_never_scheduled(rep):
    lead = stale_lead(rep, do_not_call=True)
    warmth_recompute_all()
    lead.refresh_from_db()
    assert lead.warmth > 0
    assert stale_follow_ups() == []


def test_closed_and_unowned_leads_are_not_scheduled(rep):
    stale_lead(rep, stage=Stage.WON)
    stale_lead(rep, stage=Stage.LOST, lost_reason="Budget")
    stale_lead(None)
    warmth_recompute_all()
    assert stale_follow_ups() == []


def test_a_lead_with_an_open_follow_up_gets_no_second_one(rep):
    lead = stale_lead(rep)
    FollowUpFactory(lead=lead, due_at=NOW + timedelta(days=3), reason=FollowUp.Reason.CALL_BACK)
    warmth_recompute_all()
    assert FollowUp.objects.filter(lead=lead).count() == 1


def test_snoozed_leads_wait_until_the_snooze_ends(rep, frozen):
    lead = stale_lead(rep)
    lead_snooze_stale(lead=lead, actor=rep, until=NOW + timedelta(days=5), reason="Budget meeting next week")
    warmth_recompute_all()
    assert stale_follow_ups() == []
    frozen.shift(timedelta(days=5))
    warmth_recompute_all()
    assert stale_follow_ups() == [lead.pk]


def test_snooze_needs_a_reason_and_a_future_date(rep):
    from django.core.exceptions import ValidationError

    lead = stale_lead(rep)
    with pytest.raises(ValidationError) as error:
        lead_snooze_stale(lead=lead, actor=rep, until=NOW - timedelta(days=1), reason=" ")
    assert error.value.message_dict == {
        "reason": ["Say why this lead can wait."],
        "until": ["Snooze until a date in the future."],
    }
    lead.refresh_from_db()
    assert lead.stale_snoozed_until is None


def test_warmth_decays_as_time_passes(rep, frozen):
    lead = stale_lead(rep, last_conversation_at=NOW)
    warmth_recompute_all()
    first = Lead.objects.get(pk=lead.pk).warmth
    frozen.shift(timedelta(days=60))
    report = warmth_recompute_all()
    later = Lead.objects.get(pk=lead.pk)
    assert later.warmth == first - 18
    assert later.warmth_computed_at == timezone.now()
    assert report.band_changes == 1


def test_chunks_cover_every_lead_once(rep):
    leads = [stale_lead(rep) for _ in range(7)]
    report = warmth_recompute_all(chunk_size=3)
    assert (report.chunks, report.leads_scored, report.follow_ups_created) == (3, 7, 7)
    assert sorted(stale_follow_ups()) == sorted(lead.pk for lead in leads)


def test_recompute_command_prints_what_it_did(rep, capsys):
    stale_lead(rep)
    call_command("recompute_warmth", "--json")
    report = json.loads(capsys.readouterr().out)
    assert {k: report[k] for k in ("leads_scored", "band_changes", "follow_ups_created", "chunks")} == {
        "leads_scored": 1,
        "band_changes": 1,
        "follow_ups_created": 1,
        "chunks": 1,
    }
    assert report["seconds"] >= 0
    call_command("recompute_warmth")
    assert "Scored 1 leads in 1 chunks: 0 changed band, 0 stale follow-ups created" in capsys.readouterr().out


def test_recompute_command_refuses_a_bad_chunk_size():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--chunk-size must be at least 1."):
        call_command("recompute_warmth", "--chunk-size", "0")
