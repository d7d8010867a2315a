"""Today: the call queue selector (due follow-ups first, then the warmest callable leads) and its page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from calls.models import Outcome
from leads.models import FollowUp, Stage
from leads.selectors import today_counts, today_queue
from tests.factories import CallFactory, EventFactory, FollowUpFactory, LeadFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def names(rows):
    return [row.lead.first_name for row in rows]


def test_follow_ups_come_first_overdue_before_due_then_warmest(rep):
    now = timezone.now()
    overdue = LeadFactory(owner=rep, first_name="Overdue", warmth=10)
    due = LeadFactory(owner=rep, first_name="Due", warmth=20)
    later = LeadFactory(owner=rep, first_name="Later", warmth=99)
    FollowUpFactory(lead=overdue, due_at=now - timedelta(days=3))
    FollowUpFactory(lead=due, due_at=now)
    FollowUpFactory(lead=later, due_at=now + timedelta(days=5))
    LeadFactory(owner=rep, first_name="Warm", warmth=80)
    LeadFactory(owner=rep, first_name="Warmer", warmth=90)

    queue = today_queue(rep, now=now)

    assert names(queue.overdue) == ["Overdue"]
    assert names(queue.due) == ["Due"]
    # "Later" has a follow-up planned for another day: the queue does not offer it now.
    assert names(queue.warmest) == ["Warmer", "Warm"]
    assert names(queue.rows) == ["Overdue", "Due", "Warmer", "Warm"]
    assert (queue.overdue_count, queue.due_count) == (1, 1)


def test_due_follow_ups_put_requests_first_then_the_warmest(rep):
    now = timezone.now()
    for name, warmth, reason in [
        ("StaleCool", 20, FollowUp.Reason.STALE),
        ("StaleHot", 90, FollowUp.Reason.STALE),
        ("AskedToCall", 10, FollowUp.Reason.CALL_BACK),
    ]:
        FollowUpFactory(lead=LeadFactory(owner=rep, first_name=name, warmth=warmth), due_at=now, reason=reason)
    FollowUpFactory(lead=LeadFactory(owner=rep, first_name="Late", warmth=1), due_at=now - timedelta(days=2))
    assert names(today_queue(rep, now=now).rows) == ["Late", "AskedToCall", "StaleHot", "StaleCool"]


def test_warmest_leaves_out_leads_that_should_not_be_called(rep):
    now = timezone.now()
    LeadFactory(owner=rep, first_name="Callable", warmth=50)
    LeadFactory(owner=rep, first_name="Never", warmth=40, last_attempt_at=None)
    LeadFactory(owner=rep, first_name="Capped", warmth=90, last_attempt_at=now - timedelta(days=1))
    LeadFactory(owner=rep, first_name="PastCap", warmth=30, last_attempt_at=now - timedelta(days=3))
    LeadFactory(owner=rep, first_name="Dnc", warmth=95, do_not_call=True)
    LeadFactory(owner=rep, first_name="Won", warmth=95, stage=Stage.WON)
    LeadFactory(owner=rep, first_name="Lost", warmth=95, stage=Stage.LOST, lost_reason="Budget")
    LeadFactory(owner=rep, first_name="CoolingOff", warmth=95, not_interested_at=now - timedelta(days=10))
    LeadFactory(
        owner=rep,
        first_name="WarmedAgain",
        warmth=20,
        not_interested_at=now - timedelta(days=10),
        last_conversation_at=now - timedelta(days=5),
    )
    LeadFactory(owner=LeadFactory().owner, first_name="NotMine", warmth=99)

    assert names(today_queue(rep, now=now).warmest) == ["Callable", "Never", "PastCap", "WarmedAgain"]


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_due_today_is_the_local_day(rep):
    pacific = ZoneInfo("America/Los_Angeles")
    # 23:30 in Los Angeles is already tomorrow in UTC.
    with time_machine.travel(datetime(2026, 3, 10, 23, 30, tzinfo=pacific), tick=False):
        now = timezone.now()
        due_tonight = LeadFactory(owner=rep, first_name="Tonight")
        tomorrow = LeadFactory(owner=rep, first_name="Tomorrow")
        yesterday = LeadFactory(owner=rep, first_name="Yesterday")
        FollowUpFactory(lead=due_tonight, due_at=datetime(2026, 3, 10, 23, 45, tzinfo=pacific))
        FollowUpFactory(lead=tomorrow, due_at=datetime(2026, 3, 11, 0, 15, tzinfo=pacific))
        FollowUpFactory(lead=yesterday, due_at=datetime(2026, 3, 9, 23, 59, tzinfo=pacific))
        queue = today_queue(rep, now=now)
    assert names(queue.due) == ["Tonight"]
    assert names(queue.overdue) == ["Yesterday"]


def test_counts_calls_done_today_on_visible_leads(rep, other_rep):
    mine = LeadFactory(owner=rep)
    CallFactory(lead=mine, outcome=Outcome.NO_ANSWER)
    CallFactory(lead=mine, outcome=Outcome.VOICEMAIL, called_at=timezone.now() - timedelta(days=2))
    CallFactory(lead=LeadFactory(owner=other_rep))
    assert today_queue(rep).done_today == 1


def test_counts_each_follow_up_once_and_each_call_today_on_the_visible_leads(rep, other_rep, manager):
    # One pass over the leads joins their follow-up and today's calls: a lead called twice still has one follow-up.
    now = timezone.now()
    twice, quiet, barred = LeadFactory(owner=rep), LeadFactory(owner=rep), LeadFactory(owner=rep, do_not_call=True)
    FollowUpFactory(lead=twice, due_at=now - timedelta(days=2))
    FollowUpFactory(lead=quiet, due_at=now)
    FollowUpFactory(lead=barred, due_at=now - timedelta(days=2))  # not counted, but the call on it is
    CallFactory.create_batch(2, lead=twice)
    CallFactory(lead=barred)
    theirs = LeadFactory(owner=other_rep)
    FollowUpFactory(lead=theirs, due_at=now - timedelta(days=2))
    CallFactory(lead=theirs)
    counts = today_counts(rep, now=now)
    assert (counts.overdue_count, counts.due_count, counts.done_today) == (1, 1, 3)
    everyone = today_counts(manager, now=now)
    assert (everyone.overdue_count, everyone.due_count, everyone.done_today) == (2, 1, 4)


def test_do_not_call_follow_ups_are_not_listed(rep):
    lead = LeadFactory(owner=rep, do_not_call=True)
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(hours=1))
    queue = today_queue(rep)
    assert queue.rows == [] and queue.overdue_count + queue.due_count == 0


# --- The page -----------------------------------------------------------------------------------------


def test_today_shows_rows_with_connection_phone_and_counts(rep_client, rep):
    event = EventFactory(name="Expo North")
    lead = LeadFactory(owner=rep, first_name="Ana", last_name="Costa", event=event, phone="(415) 555-0134")
    FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(days=1))
    referred = ReferralFactory(
        lead__owner=rep, source__name="Ben Ode", source__organisation="Acme", lead__first_name="Cy"
    ).lead

    response = rep_client.get("/leads/today/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Met at Expo North - asked you to call" in html
    assert "Referred by Ben Ode of Acme" in html
    assert 'href="tel:+14155550134"' in html
    assert f'id="row-{lead.pk}"' in html and f'id="row-{referred.pk}"' in html
    assert "<strong>1</strong> overdue" in html
    assert "Overdue since" in html


def test_today_htmx_renders_the_queue_partial_only(rep_client, rep):
    LeadFactory(owner=rep, first_name="Ana")
    response = rep_client.get("/leads/today/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue"')
    assert "<html" not in html and "Ana" in html


def test_rep_sees_only_their_queue_manager_sees_the_team(rep_client, manager_client, rep, other_rep):
    LeadFactory(owner=rep, first_name="Mine")
    LeadFactory(owner=other_rep, first_name="Theirs")
    rep_html = rep_client.get("/leads/today/").content.decode()
    manager_html = manager_client.get("/leads/today/").content.decode()
    assert "Mine" in rep_html and "Theirs" not in rep_html
    assert "Mine" in manager_html and "Theirs" in manager_html


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/leads/today/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_home_is_today_for_reps_and_the_leads_list_for_managers(rep_client, manager_client):
    assert rep_client.get("/").url == "/leads/today/"
    assert manager_client.get("/").url == "/leads/"


def make_queue(rep, size):
    now = timezone.now()
    for index in range(size):
        lead = ReferralFactory(lead__owner=rep, lead__event=EventFactory()).lead
        if index % 2:
            FollowUpFactory(lead=lead, due_at=now - timedelta(days=index % 3), reason=FollowUp.Reason.RETRY)


@pytest.mark.parametrize("size", [3, 30])
def test_today_issues_a_fixed_number_of_queries(rep_client, rep, size, django_assert_max_num_queries):
    make_queue(rep, size)
    with django_assert_max_num_queries(11):
        response = rep_client.get("/leads/today/")
    assert response.content.decode().count("data-queue-row") == size


def test_a_long_follow_up_list_is_capped_and_says_how_many_more(rep_client, rep):
    for lead in LeadFactory.create_batch(4, owner=rep):
        FollowUpFactory(lead=lead, due_at=timezone.now() - timedelta(hours=1))
    queue = today_queue(rep, follow_up_limit=3)
    assert len(queue.overdue) + len(queue.due) == 3 and queue.follow_ups_not_shown == 1
    assert "more due" not in rep_client.get("/leads/today/").content.decode()


def test_a_reps_follow_ups_are_scoped_by_their_owner_or_a_join_on_the_lead_owner_not_a_subquery(rep, other_rep):
    # With `lead_id IN (SELECT ...)` PostgreSQL probed the lead of every open follow-up of the team (Load benchmark).
    # Today and the badge read a rep's open follow-ups by their owner column (the lead's, by trigger): the badge joined
    # the rep's leads before the evening of 2026-12-02.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from warmcrm.accounts.selectors import due_follow_up_count

    FollowUpFactory(lead=LeadFactory(owner=rep), due_at=timezone.now() - timedelta(days=1))
    FollowUpFactory(lead=LeadFactory(owner=other_rep), due_at=timezone.now() - timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        queue = today_queue(rep)
        badge = due_follow_up_count(rep)
    assert queue.overdue_count == badge == len(queue.overdue) == 1
    follow_up_sql = [query["sql"] for query in queries.captured_queries if 'FROM "leads_followup"' in query["sql"]]
    assert len(follow_up_sql) >= 3 and not [sql for sql in follow_up_sql if 'U0."owner_id"' in sql]
    assert len([sql for sql in follow_up_sql if '"leads_followup"."owner_id" =' in sql]) >= 3  # counts, list, badge


def test_follow_ups_are_ranked_by_one_key_of_priority_and_warmth(rep):
    # Priority alone as the first key let PostgreSQL presort the team's follow-ups and probe each lead (Load benchmark).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cold_overdue = LeadFactory(owner=rep, first_name="Cold", warmth=5)
    hot_overdue = LeadFactory(owner=rep, first_name="Hot", warmth=95)
    hot_due = LeadFactory(owner=rep, first_name="Due", warmth=99)
    FollowUpFactory(lead=cold_overdue, due_at=timezone.now() - timedelta(days=2))
    FollowUpFactory(lead=hot_overdue, due_at=timezone.now() - timedelta(days=2))
    FollowUpFactory(lead=hot_due, due_at=timezone.now(), reason=FollowUp.Reason.CALL_BACK)
    with CaptureQueriesContext(connection) as queries:
        queue = today_queue(rep)
    assert [row.lead.first_name for row in queue.rows[:3]] == ["Hot", "Cold", "Due"]
    listing = next(
        q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"] and "leads_followup" in q["sql"]
    )
    first_key = listing.split("ORDER BY", 1)[1].split(" ASC", 1)[0]
    assert '"leads_lead"."warmth"' in first_key
