"""The whole dashboard costs a fixed number of queries, whatever the number of leads, calls, reps or events."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Outcome
from calls.services import call_totals_rebuild
from leads.models import ConnectionType, Stage
from tests.dashboard.conftest import at
from tests.factories import (
    CallFactory,
    EventFactory,
    FollowUpFactory,
    LeadFactory,
    ReferralFactory,
    UserFactory,
)
from warmcrm.dashboard.services import band_snapshot_take, summary_rebuild

pytestmark = pytest.mark.django_db

# Session, user, role, team scope; the summary's state; ten for the panels (the stale list and its count from
# the summary are two); the rep, team and event choices of the filter form: 19. Plus, inside the test's
# transaction, the savepoint pair of the page's read transaction, and on PostgreSQL its SET LOCAL jit = off; and
# the nav's due-follow-ups badge (one COUNT).
MAX_QUERIES = 23
# A chosen rep, team or event is looked up once each when the form validates it.
MAX_QUERIES_FILTERED = MAX_QUERIES + 3
# A summary found too old is rebuilt first: the savepoint pair, the state row made if missing and locked, SET
# LOCAL jit = off, four DELETEs, five INSERT ... SELECTs (follow-ups done and overdue are two) and the state saved.
REBUILD_QUERIES = 15


def grow(world, factor: int) -> None:
    """More of everything: reps, events, referrers, leads in every stage, calls and follow-ups."""
    for n in range(factor):
        rep = UserFactory(role="rep")
        world.north.members.add(rep)
        event = EventFactory(name=f"Show {n}", date=at(3, 1).date())
        for stage in (Stage.NEW, Stage.ATTEMPTED, Stage.WON):
            lead = LeadFactory(owner=rep, event=event, stage=stage, connection_type=ConnectionType.EVENT_LIST,
                               created_at=at(3, 2))  # fmt: skip
            CallFactory(lead=lead, rep=rep, called_at=at(3, 3), outcome=Outcome.APPOINTMENT_SET)
            CallFactory(lead=lead, rep=rep, called_at=at(3, 4), outcome=Outcome.NO_ANSWER)
            FollowUpFactory(lead=lead, owner=rep, due_at=at(3, 5))
        ReferralFactory(lead__owner=rep, lead__created_at=at(3, 6), referred_on=at(3, 6).date())
    call_totals_rebuild()
    band_snapshot_take(day=at(3, 11).date())
    summary_rebuild()  # as beat does every DASHBOARD_SUMMARY_SECONDS


def queries_for(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dashboard/", params)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("client_name", ["maria_client", "mike_client"])
def test_query_count_does_not_grow_with_the_data(request, world, client_name, django_assert_max_num_queries):
    client = request.getfixturevalue(client_name)
    summary_rebuild()
    with django_assert_max_num_queries(MAX_QUERIES):
        small = queries_for(client)
    grow(world, 12)
    with django_assert_max_num_queries(MAX_QUERIES):
        large = queries_for(client)
    assert large == small


def test_filters_do_not_add_queries_per_row(world, maria_client, django_assert_max_num_queries):
    grow(world, 5)
    with django_assert_max_num_queries(MAX_QUERIES_FILTERED):
        maria_client.get(
            "/dashboard/",
            {"period": "custom", "date_from": "2026-01-01", "date_to": "2026-03-18", "team": world.north.pk,
             "connection": "event_list", "event": world.expo.pk},
        )  # fmt: skip


def test_htmx_refresh_costs_no_more(world, maria_client, django_assert_max_num_queries):
    grow(world, 5)
    with django_assert_max_num_queries(MAX_QUERIES_FILTERED):
        maria_client.get("/dashboard/", {"period": "week"}, HTTP_HX_REQUEST="true")


def test_a_summary_too_old_is_rebuilt_at_a_fixed_cost(world, maria_client, time_machine, settings):
    """The page rebuilds a summary older than DASHBOARD_SUMMARY_MAX_AGE_SECONDS: a fixed number of queries more."""
    summary_rebuild()
    fresh = queries_for(maria_client)
    time_machine.shift(settings.DASHBOARD_SUMMARY_MAX_AGE_SECONDS + 1)
    small = queries_for(maria_client)
    grow(world, 8)
    time_machine.shift(settings.DASHBOARD_SUMMARY_MAX_AGE_SECONDS + 1)
    large = queries_for(maria_client)
    assert fresh < small == large <= fresh + REBUILD_QUERIES
