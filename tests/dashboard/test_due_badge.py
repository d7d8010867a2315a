"""The nav's due badge for a manager (every lead) counts like a rep's (own leads): due, open, not do-not-call.

The manager's count is shaped for 100k leads (docs/benchmarks.md, Dashboard), so it is checked on its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from leads.models import FollowUp
from tests.dashboard.conftest import NOW
from tests.factories import FollowUpFactory, LeadFactory, UserFactory
from warmcrm.accounts.selectors import due_follow_up_count

pytestmark = pytest.mark.django_db


def test_a_managers_badge_counts_every_reps_due_follow_ups_but_not_do_not_call_leads(frozen):
    rita, raj = UserFactory(role="rep"), UserFactory(role="rep")
    manager = UserFactory(role="manager")
    FollowUpFactory(lead=LeadFactory(owner=rita), due_at=NOW - timedelta(days=2))  # overdue
    FollowUpFactory(lead=LeadFactory(owner=raj), due_at=NOW + timedelta(hours=3))  # due later today
    FollowUpFactory(lead=LeadFactory(owner=None), due_at=NOW)  # unassigned: a manager sees it
    FollowUpFactory(lead=LeadFactory(owner=raj, do_not_call=True), due_at=NOW)
    FollowUpFactory(lead=LeadFactory(owner=rita), due_at=NOW + timedelta(days=1))  # tomorrow
    FollowUpFactory(lead=LeadFactory(owner=rita), due_at=NOW, status=FollowUp.Status.DONE, closed_at=NOW)

    assert due_follow_up_count(manager) == 3
    assert (due_follow_up_count(rita), due_follow_up_count(raj)) == (1, 1)


def test_the_badge_stops_counting_past_its_maximum(frozen, monkeypatch):
    """A manager's team can have tens of thousands due: the badge says "99+" (here 2+) and counts no further."""
    from django.test import Client

    from warmcrm.accounts import context_processors

    monkeypatch.setattr(context_processors, "BADGE_MAX", 2)
    manager = UserFactory(role="manager")
    client = Client()
    client.force_login(manager)

    def badge() -> str:
        html = client.get("/leads/board/").content.decode()
        start = html.index('title="Follow-ups due today or overdue">') + len('title="Follow-ups due today or overdue">')
        return html[start : html.index("<", start)]

    for _ in range(2):
        FollowUpFactory(lead=LeadFactory(), due_at=NOW - timedelta(days=1))
    assert badge() == "2"
    FollowUpFactory(lead=LeadFactory(), due_at=NOW - timedelta(days=1))
    assert badge() == "2+"
    assert due_follow_up_count(manager, at_most=2) == 2 and due_follow_up_count(manager) == 3
