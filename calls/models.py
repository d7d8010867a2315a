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
    # The lead's owner now, kept so by the database whoever writes (triggers, calls 0004): Today's "calls done today"
    # counts the calls on a rep's leads by it, not by joining the team's calls of the day to the rep's leads.
    lead_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, editable=False, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["-called_at", "-id"]
        indexes = [
            models.Index(fields=["lead_owner", "called_at"], name="call_lead_owner_time"),
            models.Index(fields=["lead", "-called_at"], name="call_lead_time"),
            models.Index(fields=["rep", "-called_at"], name="call_rep_time"),
            models.Index(fields=["called_at"], name="call_time"),
            models.Index(fields=["lead", "outcome"], name="call_lead_outcome"),  # dashboard outcome probes
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.lead} at {self.called_at:%Y-%m-%d %H:%M}"


class RepCallHour(models.Model):
    """How many calls, conversations and appointments a rep logged in one UTC hour: what rep activity sums.

    Hours, not days, and in UTC: a period runs from midnight to midnight in the reader's own time zone,
    and any zone's midnight falls on a UTC hour boundary or inside one hour at each end, which the
    dashboard counts from the calls themselves. Kept exact by calls.services (call_log adds to its hour in
    the call's transaction; rep_call_hours_rebuild recounts hours from the calls).
    """

    hour = models.DateTimeField(help_text="The start of the hour, UTC.")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    calls = models.PositiveIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0)
    appointments = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-hour", "rep"]
        constraints = [models.UniqueConstraint(fields=["hour", "rep"], name="rep_call_hour_one_row")]

    def __str__(self) -> str:
        return f"{self.rep_id} at {self.hour:%Y-%m-%d %H:00}: {self.calls} calls"
