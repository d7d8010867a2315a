"""Pure rules for call outcomes: what each outcome means for the lead. No ORM here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

APPOINTMENT_SET = "appointment_set"
CALL_BACK = "call_back"
NOT_INTERESTED = "not_interested"
DID_NOT_REMEMBER = "did_not_remember"
VOICEMAIL = "voicemail"
NO_ANSWER = "no_answer"
WRONG_NUMBER = "wrong_number"
CONNECTED_OTHER = "connected_other"

# A two-way conversation: it resets decay and unanswered attempts.
CONVERSATIONS = frozenset({APPOINTMENT_SET, CALL_BACK, NOT_INTERESTED, CONNECTED_OTHER})
UNANSWERED = frozenset({NO_ANSWER, VOICEMAIL})
# Someone picked up, so the unanswered streak ends, even if it was not a conversation.
ANSWERED = CONVERSATIONS | {DID_NOT_REMEMBER}

STAGE_ORDER = ("new", "attempted", "connected", "appointment_set", "qualified", "won")


@dataclass(frozen=True)
class CallHistory:
    """The lead's call-history fields, before or after a call."""

    last_attempt_at: datetime | None
    last_conversation_at: datetime | None
    unanswered_attempts: int
    last_appointment_at: datetime | None
    forgot_us_at: datetime | None
    not_interested_at: datetime | None


def _later(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


def history_after_call(history: CallHistory, *, outcome: str, called_at: datetime) -> CallHistory:
    """The lead's call history once a call with `outcome` at `called_at` is added (in any order)."""
    latest = history.last_attempt_at is None or called_at >= history.last_attempt_at
    unanswered = history.unanswered_attempts
    if outcome in UNANSWERED:
        if history.last_conversation_at is None or called_at > history.last_conversation_at:
            unanswered += 1
    elif outcome in ANSWERED and latest:
        unanswered = 0
    return CallHistory(
        last_attempt_at=_later(history.last_attempt_at, called_at),
        last_conversation_at=_later(history.last_conversation_at, called_at)
        if outcome in CONVERSATIONS
        else history.last_conversation_at,
        unanswered_attempts=unanswered,
        last_appointment_at=_later(history.last_appointment_at, called_at)
        if outcome == APPOINTMENT_SET
        else history.last_appointment_at,
        forgot_us_at=_later(history.forgot_us_at, called_at) if outcome == DID_NOT_REMEMBER else history.forgot_us_at,
        not_interested_at=_later(history.not_interested_at, called_at)
        if outcome == NOT_INTERESTED
        else history.not_interested_at,
    )


def stage_after_call(stage: str, *, outcome: str) -> str:
    """Calls move a lead forward through new -> attempted -> connected -> appointment set, never back."""
    if stage not in STAGE_ORDER:
        return stage  # lost and nurture leads stay where a person put them
    target = "attempted"
    if outcome in CONVERSATIONS:
        target = "connected"
    if outcome == APPOINTMENT_SET:
        target = "appointment_set"
    return target if STAGE_ORDER.index(target) > STAGE_ORDER.index(stage) else stage


# Nothing is booked further ahead: year 9999 passed the date fields, then the calendar feed overflowed.
FURTHEST_AHEAD_YEARS = 5


def validate_call(
    *, outcome: str, call_back_on: date | None, today: date, appointment_at: datetime | None = None
) -> dict[str, str]:
    """Field errors for a call, in words a rep understands."""
    errors = {}
    furthest = today.replace(year=today.year + FURTHEST_AHEAD_YEARS, day=min(today.day, 28))
    if outcome == CALL_BACK and call_back_on is None:
        errors["call_back_on"] = "Pick the date they asked you to call back."
    if call_back_on is not None and call_back_on < today:
        errors["call_back_on"] = "The call-back date is in the past."
    if call_back_on is not None and call_back_on > furthest:
        errors["call_back_on"] = f"Pick a call-back date within the next {FURTHEST_AHEAD_YEARS} years."
    if call_back_on is not None and outcome != CALL_BACK:
        errors["call_back_on"] = "A call-back date goes with the “call back on a date” outcome."
    if appointment_at is not None and appointment_at.date() > furthest:
        errors["appointment_at"] = f"Pick an appointment within the next {FURTHEST_AHEAD_YEARS} years."
    return errors
