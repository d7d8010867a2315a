"""The set-based recompute stores exactly what the pure formula says, on generated leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import ConnectionType, Lead, Stage
from leads.selectors import lead_warmth
from leads.services import warmth_recompute
from referrals.models import Referral
from tests.factories import LeadFactory, ReferralSourceFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 12, 0, 30, 123456, tzinfo=UTC)
offsets = st.integers(min_value=0, max_value=400 * 86_400)
maybe_time = st.none() | offsets.map(lambda seconds: NOW - timedelta(seconds=seconds))

lead_specs = st.fixed_dictionaries(
    {
        "connection_type": st.sampled_from(ConnectionType.values),
        "created_at": offsets.map(lambda seconds: NOW - timedelta(seconds=seconds)),
        "last_conversation_at": maybe_time,
        "unanswered_attempts": st.integers(0, 30),
        "last_appointment_at": maybe_time,
        "forgot_us_at": maybe_time,
        "not_interested_at": maybe_time,
        "stage": st.sampled_from(Stage.values),
        "referrer": st.none() | st.integers(0, 2),
    }
)


def _assert_bulk_matches_pure(specs: list[dict], owner) -> None:
    sources = [ReferralSourceFactory() for _ in range(3)]
    leads = []
    for spec in specs:
        referrer = spec.pop("referrer")
        lead = LeadFactory(owner=owner, lost_reason="x", **spec)
        if referrer is not None:
            Referral.objects.create(source=sources[referrer], lead=lead)
        leads.append(lead)
    scored, _ = warmth_recompute(leads=Lead.objects.filter(pk__in=[lead.pk for lead in leads]), now=NOW)
    assert scored == len(leads)
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]).select_related("event"):
        expected = lead_warmth(lead, now=NOW)
        assert (lead.warmth, lead.warmth_band) == (expected.score, expected.band), expected.components
    Referral.objects.all().delete()
    Lead.objects.all().delete()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lead_specs, min_size=1, max_size=12))
def test_bulk_recompute_equals_the_pure_function(specs):
    _assert_bulk_matches_pure(specs, UserFactory(role="rep"))


@override_settings(WARMTH_WEIGHTS={"decay_points_per_30_days": 7, "decay_points_max": 20, "hot_from": 60})
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lead_specs, min_size=1, max_size=8))
def test_bulk_recompute_follows_tuned_weights(specs):
    _assert_bulk_matches_pure(specs, UserFactory(role="rep"))


def test_decay_boundaries_are_exact(rep):
    # Exactly 10 days (decay 3) vs one second short of it (decay 2): both paths agree at the edge.
    edge = LeadFactory(owner=rep, connection_type=ConnectionType.COLD, created_at=NOW - timedelta(days=10))
    short = LeadFactory(
        owner=rep, connection_type=ConnectionType.COLD, created_at=NOW - timedelta(days=10) + timedelta(seconds=1)
    )
    warmth_recompute(leads=Lead.objects.all(), now=NOW)
    edge.refresh_from_db()
    short.refresh_from_db()
    assert (edge.warmth, short.warmth) == (7, 8)
    assert edge.warmth == lead_warmth(edge, now=NOW).score
    assert short.warmth == lead_warmth(short, now=NOW).score


def test_referral_conversions_raise_the_other_referrals(rep):
    source = ReferralSourceFactory()
    leads = [LeadFactory(owner=rep, connection_type=ConnectionType.REFERRAL, created_at=NOW) for _ in range(3)]
    for lead in leads:
        Referral.objects.create(source=source, lead=lead)
    Lead.objects.filter(pk=leads[0].pk).update(stage=Stage.WON)
    warmth_recompute(leads=Lead.objects.all(), now=NOW)
    won, other, _ = (Lead.objects.get(pk=lead.pk) for lead in leads)
    assert other.warmth == 55 + 4  # one converted referral among the others
    assert won.warmth == 55  # its own conversion does not count for itself
