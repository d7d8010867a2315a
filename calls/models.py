"""Calls: who called which lead, when, and how it went."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import Lead


class Outcome(models.TextChoices):
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    CALL_BACK = "call_back", "Call back on a date"
    NOT_INTERESTED = "not_interested", "Not interested"
    DID_NOT_REMEMBER = "did_not_remember", "Didn't remember us"
    VOICEMAIL = "voicemail", "Voicemail left"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    CONNECTED_OTHER = "connected_other", "Talked, other"


class Call(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="calls")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="calls")
    called_at = models.DateTimeField(default=timezone.now)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    duration_seconds = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)
    call_back_on = models.DateField(null=True, blank=True, help_text="The date the prospect asked us to call back.")
    appointment_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-called_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-called_at"], name="call_lead_time"),
            models.Index(fields=["rep", "-called_at"], name="call_rep_time"),
            models.Index(fields=["called_at"], name="call_time"),
            models.Index(fields=["lead", "outcome"], name="call_lead_outcome"),  # dashboard outcome probes
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.lead} at {self.called_at:%Y-%m-%d %H:%M}"
