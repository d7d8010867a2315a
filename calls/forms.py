"""The log-a-call form: outcome buttons in the order of their number keys, notes, and the dates they need."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import Outcome

# The order of the buttons, and so of the number keys 1-8: the warm-call outcomes first.
OUTCOME_ORDER = (
    Outcome.APPOINTMENT_SET,
    Outcome.CALL_BACK,
    Outcome.NOT_INTERESTED,
    Outcome.DID_NOT_REMEMBER,
    Outcome.VOICEMAIL,
    Outcome.NO_ANSWER,
    Outcome.WRONG_NUMBER,
    Outcome.CONNECTED_OTHER,
)


class CallForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[(outcome.value, outcome.label) for outcome in OUTCOME_ORDER],
        widget=forms.RadioSelect,
        label="How did it go?",
        error_messages={"required": "Pick how the call went.", "invalid_choice": "Pick one of the outcomes."},
    )
    call_back_on = forms.DateField(
        required=False,
        label="Call back on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the call-back date as a date, like 2026-03-14."},
    )
    appointment_at = forms.DateTimeField(
        required=False,
        label="Appointment at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"invalid": "Enter the appointment as a date and time."},
    )
    notes = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}), label="Notes")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        outcome, appointment_at = cleaned.get("outcome"), cleaned.get("appointment_at")
        if outcome == Outcome.APPOINTMENT_SET and appointment_at is None and "appointment_at" not in self.errors:
            self.add_error("appointment_at", "Say when the appointment is.")
        if outcome and outcome != Outcome.APPOINTMENT_SET and appointment_at is not None:
            self.add_error("appointment_at", "An appointment time goes with the “appointment set” outcome.")
        return cleaned

    def numbered_outcomes(self) -> list[tuple[int, Any]]:
        """(key, radio) pairs: the number key that picks each outcome."""
        return list(enumerate(self["outcome"], start=1))
