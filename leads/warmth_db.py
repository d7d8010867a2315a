"""The warmth formula of `leads.warmth` as database expressions, for the set-based recompute.

Every branch mirrors `compute_warmth`; tests/leads/test_warmth_bulk.py proves both give the same
score on generated leads. Day counts become datetime cut-offs computed here, so the SQL compares
timestamps (exact on every database) instead of doing date arithmetic.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db.models import Case, Count, Expression, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest, Least
from django.db.models.lookups import LessThanOrEqual

from .warmth import COLD, COLD_BAND, HOT_BAND, LUKEWARM_BAND, REFERRAL, WARM_BAND, Weights

FORGOT_US = Q(forgot_us_at__isnull=False) & (
    Q(last_conversation_at__isnull=True) | Q(forgot_us_at__gt=F("last_conversation_at"))
)
NOT_INTERESTED_NOW = Q(not_interested_at__isnull=False) & (
    Q(last_conversation_at__isnull=True) | Q(not_interested_at__gte=F("last_conversation_at"))
)


def _int(value: int) -> Value:
    return Value(value, output_field=IntegerField())


def referrals_converted_expression() -> Expression:
    """Converted referrals of this lead's referrer, not counting this lead.

    Reads the referrer's stored count (`refresh_referrer_conversions` keeps it current), so each
    referral lead costs two index lookups instead of a count over all of its referrer's referrals.
    """
    from referrals.models import Referral  # leads never imports referrals at module level

    stored = Referral.objects.filter(lead_id=OuterRef("pk")).values("source__referrals_converted")[:1]
    own = Case(When(stage="won", then=_int(1)), default=_int(0), output_field=IntegerField())
    return Greatest(Coalesce(Subquery(stored, output_field=IntegerField()), _int(0)) - own, _int(0))


def referrer_conversions_expression() -> Expression:
    """A referral source's converted (won) referrals, counted now: what `referrals_converted` should hold."""
    from referrals.models import Referral

    won = (
        Referral.objects.filter(source_id=OuterRef("pk"), lead__stage="won")
        .order_by()
        .values("source_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(won, output_field=IntegerField()), _int(0))


def refresh_referrer_conversions(*, leads: QuerySet) -> int:
    """Recount converted referrals (one UPDATE) for the referrers of these leads' referrals."""
    from referrals.models import Referral, ReferralSource

    sources = Referral.objects.filter(lead__in=leads).values("source_id")
    return ReferralSource.objects.filter(pk__in=sources).update(referrals_converted=referrer_conversions_expression())


def decay_expression(weights: Weights, now: datetime) -> Expression:
    reference = Coalesce(F("last_conversation_at"), F("created_at"))
    whens = []
    for points in range(weights.decay_points_max, 0, -1):
        # fewest whole days that lose `points`: days * per_30 // 30 >= points
        days = math.ceil(points * 30 / weights.decay_points_per_30_days) if weights.decay_points_per_30_days else None
        if days is None:
            break
        whens.append(When(LessThanOrEqual(reference, Value(now - timedelta(days=days))), then=_int(points)))
    return Case(*whens, default=_int(0), output_field=IntegerField()) if whens else _int(0)


def score_expression(weights: Weights, now: datetime) -> Expression:
    base = Case(
        *(When(connection_type=name, then=_int(points)) for name, points in weights.connection_base.items()),
        default=_int(weights.connection_base[COLD]),
        output_field=IntegerField(),
    )
    referral = Case(
        When(
            connection_type=REFERRAL,
            then=Least(
                referrals_converted_expression() * _int(weights.referral_points_per_conversion),
                _int(weights.referral_points_max),
            ),
        ),
        default=_int(0),
        output_field=IntegerField(),
    )
    conversation = Case(
        When(last_conversation_at__isnull=False, then=_int(weights.conversation_points)),
        default=_int(0),
        output_field=IntegerField(),
    )
    appointment = Case(
        When(last_appointment_at__isnull=False, then=_int(weights.appointment_points)),
        default=_int(0),
        output_field=IntegerField(),
    )
    unanswered = Least(
        F("unanswered_attempts") * _int(weights.unanswered_points_each), _int(weights.unanswered_points_max)
    )
    not_interested = Case(
        When(NOT_INTERESTED_NOW, then=_int(weights.not_interested_points)), default=_int(0), output_field=IntegerField()
    )
    subtotal = (
        base + referral + conversation + appointment - decay_expression(weights, now) - unanswered - not_interested
    )
    # Each sub-expression appears once in the SQL: the database does not share repeated subqueries.
    ceiling = Case(
        When(FORGOT_US, then=_int(min(weights.lukewarm_from - 1, 100))), default=_int(100), output_field=IntegerField()
    )
    return Greatest(Least(subtotal, ceiling), _int(0))


def band_expression(weights: Weights, score_field: str = "warmth") -> Expression:
    return Case(
        When(**{f"{score_field}__gte": weights.hot_from}, then=Value(HOT_BAND)),
        When(**{f"{score_field}__gte": weights.warm_from}, then=Value(WARM_BAND)),
        When(**{f"{score_field}__gte": weights.lukewarm_from}, then=Value(LUKEWARM_BAND)),
        default=Value(COLD_BAND),
    )
