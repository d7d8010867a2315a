"""The warmth formula's six rules, for all inputs (hypothesis), plus readable examples."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads import warmth as w

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEIGHTS = w.Weights()
TOP = [w.EVENT_ASKED, w.REFERRAL, w.INBOUND]
MIDDLE = [w.EVENT_LIST, w.PRIOR_CONTACT]
ALL = [*TOP, *MIDDLE, w.CUSTOMER, w.PAST_CUSTOMER, w.COLD]

days = st.integers(min_value=0, max_value=3000)
moments = st.builds(lambda d, s: NOW - timedelta(days=d, seconds=s), days, st.integers(0, 86_399))
maybe_moment = st.none() | moments


ANY_CONNECTION = st.sampled_from(ALL)


@st.composite
def inputs(draw: st.DrawFn, connection: st.SearchStrategy[str] = ANY_CONNECTION) -> w.WarmthInputs:
    created = draw(moments)
    made = draw(st.integers(0, 50))
    return w.WarmthInputs(
        connection_type=draw(connection),
        created_at=created,
        last_conversation_at=draw(maybe_moment),
        unanswered_attempts=draw(st.integers(0, 40)),
        last_appointment_at=draw(maybe_moment),
        forgot_us_at=draw(maybe_moment),
        not_interested_at=draw(maybe_moment),
        event_name=draw(st.sampled_from(["", "Web Summit"])),
        referrer_name=draw(st.sampled_from(["", "Acme"])),
        referrals_converted=draw(st.integers(0, made)),
        referrals_made=made,
    )


def score(values: w.WarmthInputs) -> int:
    return w.compute_warmth(values, now=NOW, weights=WEIGHTS).score


@given(inputs())
def test_components_add_up_to_the_score_and_the_band_matches(values):
    result = w.compute_warmth(values, now=NOW, weights=WEIGHTS)
    assert 0 <= result.score <= 100
    assert sum(component.points for component in result.components) == result.score
    assert result.band == WEIGHTS.band(result.score)
    assert all(component.label for component in result.components)


@given(inputs(), st.sampled_from(TOP), st.sampled_from(MIDDLE))
def test_rule_1_connection_sets_the_base(values, top, middle):
    assert score(replace(values, connection_type=top)) >= score(replace(values, connection_type=middle))
    assert score(replace(values, connection_type=middle)) >= score(replace(values, connection_type=w.COLD))
    for better in TOP:
        for worse in MIDDLE:
            assert WEIGHTS.connection_base[better] > WEIGHTS.connection_base[worse] > WEIGHTS.connection_base[w.COLD]


@pytest.mark.parametrize("connection", [w.CUSTOMER, w.PAST_CUSTOMER])
def test_rule_1_customers_are_warm(connection):
    fresh = w.WarmthInputs(connection_type=connection, created_at=NOW)
    assert w.compute_warmth(fresh, now=NOW, weights=WEIGHTS).band in (w.WARM_BAND, w.HOT_BAND)


@given(inputs(), days, days)
def test_rule_2_time_cools(values, earlier, later):
    earlier, later = sorted((earlier, later))
    # More days since the last conversation (or creation, when there was none) never scores higher.
    if values.last_conversation_at is not None:
        recent = replace(values, last_conversation_at=NOW - timedelta(days=earlier))
        old = replace(values, last_conversation_at=NOW - timedelta(days=later))
    else:
        recent = replace(values, created_at=NOW - timedelta(days=earlier))
        old = replace(values, created_at=NOW - timedelta(days=later))
    assert score(old) <= score(recent)


@given(inputs())
def test_rule_3_did_not_remember_us_makes_the_lead_cold(values):
    forgot = replace(values, forgot_us_at=NOW, last_conversation_at=None)
    assert w.compute_warmth(forgot, now=NOW, weights=WEIGHTS).band == w.COLD_BAND
    if values.last_conversation_at is not None:
        forgot_then_talked = replace(values, forgot_us_at=values.last_conversation_at - timedelta(seconds=1))
        assert not w.forgot_us(forgot_then_talked)  # a later conversation lifts it


def test_rule_3_a_later_conversation_warms_it_again():
    forgot = w.WarmthInputs(w.EVENT_ASKED, created_at=NOW - timedelta(days=5), forgot_us_at=NOW - timedelta(days=2))
    assert w.compute_warmth(forgot, now=NOW, weights=WEIGHTS).band == w.COLD_BAND
    talked = replace(forgot, last_conversation_at=NOW - timedelta(days=1))
    assert w.compute_warmth(talked, now=NOW, weights=WEIGHTS).band != w.COLD_BAND


@given(inputs(), moments)
def test_rule_4_an_appointment_raises_warmth(values, when):
    assert score(replace(values, last_appointment_at=when)) >= score(replace(values, last_appointment_at=None))


@given(inputs())
def test_rule_4_a_conversation_raises_warmth(values):
    talked = replace(values, last_conversation_at=NOW, forgot_us_at=None, not_interested_at=None)
    never = replace(values, last_conversation_at=None, forgot_us_at=None, not_interested_at=None)
    assert score(talked) >= score(never)


@given(inputs(), st.integers(0, 40))
def test_rule_4_unanswered_attempts_lower_it_a_little_each(values, extra):
    fewer = replace(values, unanswered_attempts=values.unanswered_attempts)
    more = replace(values, unanswered_attempts=values.unanswered_attempts + extra)
    assert score(more) <= score(fewer)
    assert score(fewer) - score(replace(fewer, unanswered_attempts=fewer.unanswered_attempts + 1)) <= (
        WEIGHTS.unanswered_points_each
    )


@given(inputs())
def test_rule_4_not_interested_lowers_it_sharply(values):
    talked = replace(values, last_conversation_at=NOW - timedelta(days=1), forgot_us_at=None, not_interested_at=None)
    refused = replace(talked, not_interested_at=talked.last_conversation_at)
    assert score(refused) <= score(talked)
    if score(talked) >= WEIGHTS.not_interested_points:
        assert score(talked) - score(refused) == WEIGHTS.not_interested_points


@given(inputs(connection=st.just(w.REFERRAL)), st.integers(0, 50))
def test_rule_5_converted_referrers_score_at_least_as_high(values, converted):
    none_converted = replace(values, referrals_converted=0, referrals_made=max(values.referrals_made, converted))
    some_converted = replace(none_converted, referrals_converted=converted)
    assert score(some_converted) >= score(none_converted)


def test_rule_6_do_not_call_is_not_an_input():
    # The score ignores do-not-call by construction; scheduling excludes it (tests/leads/test_stale.py).
    assert "do_not_call" not in w.WarmthInputs.__dataclass_fields__


def test_breakdown_reads_like_a_rep_talks():
    values = w.WarmthInputs(
        connection_type=w.REFERRAL,
        created_at=NOW - timedelta(days=60),
        last_conversation_at=NOW - timedelta(days=41),
        referrer_name="Jo Park (Acme)",
        referrals_converted=3,
        referrals_made=4,
    )
    result = w.compute_warmth(values, now=NOW, weights=WEIGHTS)
    assert [str(component) for component in result.components] == [
        "Referred by Jo Park (Acme) (3 of 4 referrals converted) +67",
        "Had a conversation +10",
        "Last conversation 41 days ago -12",
    ]
    assert (result.score, result.band) == (65, "warm")


def test_weights_come_from_settings_and_unknown_names_are_refused():
    weights = w.Weights.from_settings({"hot_from": 80, "connection_base": {"cold": 5}})
    assert weights.hot_from == 80
    assert weights.connection_base["cold"] == 5
    assert weights.connection_base["referral"] == WEIGHTS.connection_base["referral"]
    with pytest.raises(ValueError, match="Unknown warmth weights: hotness"):
        w.Weights.from_settings({"hotness": 1})
