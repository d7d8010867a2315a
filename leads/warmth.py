"""The warmth formula: a pure function of plain values, with a breakdown a rep can read.

No ORM here. `leads.warmth_db` builds the same arithmetic as database expressions for the bulk
recompute; tests prove the two agree. Weights come from `Weights` (settings.WARMTH_WEIGHTS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

EVENT_ASKED = "event_asked"
EVENT_LIST = "event_list"
REFERRAL = "referral"
INBOUND = "inbound"
PRIOR_CONTACT = "prior_contact"
CUSTOMER = "customer"
PAST_CUSTOMER = "past_customer"
COLD = "cold"

HOT_BAND, WARM_BAND, LUKEWARM_BAND, COLD_BAND = "hot", "warm", "lukewarm", "cold"

CONNECTION_LINES = {
    EVENT_ASKED: "Met at {event}: asked us to call",
    EVENT_LIST: "On the list from {event}",
    REFERRAL: "Referred by {referrer}",
    INBOUND: "Reached out to us",
    PRIOR_CONTACT: "Got our letter or email first",
    CUSTOMER: "Current customer",
    PAST_CUSTOMER: "Past customer",
    COLD: "No connection yet (cold)",
}


@dataclass(frozen=True)
class Weights:
    """Every number the formula uses. Override any of them with settings.WARMTH_WEIGHTS."""

    connection_base: Mapping[str, int] = field(
        default_factory=lambda: {
            EVENT_ASKED: 60,
            REFERRAL: 55,
            INBOUND: 55,
            CUSTOMER: 50,
            PAST_CUSTOMER: 40,
            EVENT_LIST: 35,
            PRIOR_CONTACT: 30,
            COLD: 10,
        }
    )
    referral_points_per_conversion: int = 4
    referral_points_max: int = 12
    conversation_points: int = 10
    appointment_points: int = 15
    unanswered_points_each: int = 3
    unanswered_points_max: int = 15
    not_interested_points: int = 35
    decay_points_per_30_days: int = 9
    decay_points_max: int = 45
    hot_from: int = 70
    warm_from: int = 40
    lukewarm_from: int = 20

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None) -> Weights:
        weights = cls()
        if not overrides:
            return weights
        unknown = set(overrides) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown warmth weights: {', '.join(sorted(unknown))}")
        values = dict(overrides)
        if "connection_base" in values:
            values["connection_base"] = {**weights.connection_base, **values["connection_base"]}
        return replace(weights, **values)

    def band(self, score: int) -> str:
        if score >= self.hot_from:
            return HOT_BAND
        if score >= self.warm_from:
            return WARM_BAND
        if score >= self.lukewarm_from:
            return LUKEWARM_BAND
        return COLD_BAND

    def decay_points(self, days: int) -> int:
        """Points lost after `days` whole days without a conversation (never negative days)."""
        return min(self.decay_points_max, max(days, 0) * self.decay_points_per_30_days // 30)


@dataclass(frozen=True)
class WarmthInputs:
    connection_type: str
    created_at: datetime
    last_conversation_at: datetime | None = None
    unanswered_attempts: int = 0
    last_appointment_at: datetime | None = None
    forgot_us_at: datetime | None = None
    not_interested_at: datetime | None = None
    event_name: str = ""
    referrer_name: str = ""
    referrals_converted: int = 0
    referrals_made: int = 0


@dataclass(frozen=True)
class Component:
    label: str
    points: int

    def __str__(self) -> str:
        return f"{self.label} {self.points:+d}"


@dataclass(frozen=True)
class Warmth:
    score: int
    band: str
    components: tuple[Component, ...]


def forgot_us(inputs: WarmthInputs) -> bool:
    """They did not remember us, and no conversation has warmed them since."""
    return inputs.forgot_us_at is not None and (
        inputs.last_conversation_at is None or inputs.forgot_us_at > inputs.last_conversation_at
    )


def not_interested_now(inputs: WarmthInputs) -> bool:
    """'Not interested' was the last thing they told us."""
    return inputs.not_interested_at is not None and (
        inputs.last_conversation_at is None or inputs.not_interested_at >= inputs.last_conversation_at
    )


def whole_days(since: datetime, now: datetime) -> int:
    return max((now - since).days, 0)


def connection_line(inputs: WarmthInputs) -> str:
    template = CONNECTION_LINES.get(inputs.connection_type, CONNECTION_LINES[COLD])
    return template.format(event=inputs.event_name or "an event", referrer=inputs.referrer_name or "a referrer")


def referral_bonus(weights: Weights, inputs: WarmthInputs) -> int:
    if inputs.connection_type != REFERRAL:
        return 0
    return min(weights.referral_points_max, max(inputs.referrals_converted, 0) * weights.referral_points_per_conversion)


def compute_warmth(inputs: WarmthInputs, *, now: datetime, weights: Weights) -> Warmth:
    """Score 0-100 and the components that add up to it, in the order a rep reads them."""
    components: list[Component] = []

    base = weights.connection_base.get(inputs.connection_type, weights.connection_base[COLD])
    label = connection_line(inputs)
    if inputs.connection_type == REFERRAL and inputs.referrer_name:
        label += f" ({inputs.referrals_converted} of {inputs.referrals_made} referrals converted)"
    components.append(Component(label, base + referral_bonus(weights, inputs)))

    if inputs.last_conversation_at is not None:
        components.append(Component("Had a conversation", weights.conversation_points))
        days = whole_days(inputs.last_conversation_at, now)
        decay_label = f"Last conversation {days} days ago"
    else:
        days = whole_days(inputs.created_at, now)
        decay_label = f"No conversation yet; added {days} days ago"
    decay = weights.decay_points(days)
    if decay:
        components.append(Component(decay_label, -decay))

    if inputs.last_appointment_at is not None:
        components.append(
            Component(f"Appointment set {inputs.last_appointment_at:%Y-%m-%d}", weights.appointment_points)
        )
    if inputs.unanswered_attempts > 0:
        points = min(weights.unanswered_points_max, inputs.unanswered_attempts * weights.unanswered_points_each)
        components.append(Component(f"{inputs.unanswered_attempts} unanswered attempts since", -points))
    if not_interested_now(inputs):
        components.append(
            Component(f"Said not interested {inputs.not_interested_at:%Y-%m-%d}", -weights.not_interested_points)
        )

    subtotal = sum(component.points for component in components)
    if forgot_us(inputs) and subtotal >= weights.lukewarm_from:
        ceiling = weights.lukewarm_from - 1
        components.append(
            Component(f"Did not remember us {inputs.forgot_us_at:%Y-%m-%d}: the call was cold", ceiling - subtotal)
        )
        subtotal = ceiling
    if subtotal > 100:
        components.append(Component("Capped at 100", 100 - subtotal))
    elif subtotal < 0:
        components.append(Component("Floor at 0", -subtotal))
    score = min(max(subtotal, 0), 100)
    return Warmth(score=score, band=weights.band(score), components=tuple(components))
