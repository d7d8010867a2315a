"""Leads, the events they came from, their follow-ups and the timeline entries of what happened to them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .contact import InvalidPhone, normalize_email, normalize_phone


class Stage(models.TextChoices):
    NEW = "new", "New"
    ATTEMPTED = "attempted", "Attempted"
    CONNECTED = "connected", "Connected"
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    QUALIFIED = "qualified", "Qualified"
    WON = "won", "Handed to sales / won"
    LOST = "lost", "Lost"
    NURTURE = "nurture", "Nurture"


class ConnectionType(models.TextChoices):
    EVENT_ASKED = "event_asked", "Met at an event: asked us to call"
    EVENT_LIST = "event_list", "Event: badge scan / list"
    REFERRAL = "referral", "Referral"
    INBOUND = "inbound", "Inbound request"
    PRIOR_CONTACT = "prior_contact", "Prior contact by mail or email"
    CUSTOMER = "customer", "Current customer"
    PAST_CUSTOMER = "past_customer", "Past customer"
    COLD = "cold", "Cold"


class WarmthBand(models.TextChoices):
    HOT = "hot", "Hot"
    WARM = "warm", "Warm"
    LUKEWARM = "lukewarm", "Lukewarm"
    COLD = "cold", "Cold"


class Event(models.Model):
    """A trade show or meeting where contacts were gathered."""

    name = models.CharField(max_length=200)
    date = models.DateField(null=True, blank=True)
    place = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "name"]
        constraints = [models.UniqueConstraint(fields=["name", "date"], name="event_unique_name_date")]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%b %Y})" if self.date else self.name


class Lead(models.Model):
    """A prospect, how we are connected to them, and the denormalised state the warmth engine reads."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True, help_text="As entered, for display.")
    phone_e164 = models.CharField(max_length=20, blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NEW)
    lost_reason = models.CharField(max_length=200, blank=True)
    connection_type = models.CharField(max_length=20, choices=ConnectionType.choices, default=ConnectionType.COLD)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    research_notes = models.TextField(blank=True, help_text="What you saw or know, to open the call with.")
    do_not_call = models.BooleanField(default=False)

    # Call history, kept current by calls.services.call_log so warmth is a function of this row alone.
    last_conversation_at = models.DateTimeField(null=True, blank=True, help_text="Last two-way conversation.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    unanswered_attempts = models.PositiveSmallIntegerField(default=0, help_text="Since the last conversation.")
    last_appointment_at = models.DateTimeField(null=True, blank=True, help_text="When an appointment was last set.")
    forgot_us_at = models.DateTimeField(null=True, blank=True, help_text="Last call where they did not remember us.")
    not_interested_at = models.DateTimeField(null=True, blank=True)
    stale_snoozed_until = models.DateTimeField(null=True, blank=True)
    stale_snooze_reason = models.CharField(max_length=200, blank=True)

    warmth = models.PositiveSmallIntegerField(default=0)
    warmth_band = models.CharField(max_length=10, choices=WarmthBand.choices, default=WarmthBand.COLD)
    warmth_computed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-warmth", "id"]
        indexes = [
            models.Index(fields=["owner", "-warmth"], name="lead_owner_warmth"),
            models.Index(fields=["-warmth", "id"], name="lead_warmth"),
            models.Index(fields=["stage"], name="lead_stage"),
            models.Index(fields=["connection_type"], name="lead_connection"),
            models.Index(fields=["warmth_band"], name="lead_band"),
            models.Index(fields=["last_conversation_at"], name="lead_last_conversation"),
            models.Index(fields=["email"], name="lead_email"),
            models.Index(fields=["phone_e164"], name="lead_phone"),
            models.Index(fields=["created_at"], name="lead_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(warmth__gte=0, warmth__lte=100), name="lead_warmth_0_100"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def clean_fields(self, exclude: Any = None) -> None:
        self.email = normalize_email(self.email)  # before EmailValidator sees the surrounding spaces
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            self.phone_e164 = normalize_phone(self.phone, region=settings.PHONE_DEFAULT_REGION)
        except InvalidPhone as exc:
            errors["phone"] = str(exc)
        if not (self.first_name.strip() or self.last_name.strip()):
            errors["first_name"] = "Give the lead a first or last name."
        if self.stage == Stage.LOST and not self.lost_reason.strip():
            errors["lost_reason"] = "Say why the lead was lost."
        if errors:
            raise ValidationError(errors)


class FollowUp(models.Model):
    """A call to make: at most one open per lead, enforced by the database."""

    class Reason(models.TextChoices):
        STALE = "stale", "Gone stale"
        CALL_BACK = "call_back", "Requested call-back"
        RETRY = "retry", "No-answer retry"
        INBOUND = "inbound", "New inbound request"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    due_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_note = models.CharField(max_length=200, blank=True, help_text="Why it was skipped or snoozed.")
    snoozed_count = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the system scheduled it.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="follow_up_owner_due"),
            models.Index(fields=["status", "due_at"], name="follow_up_status_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=Q(status="open"), name="follow_up_one_open_per_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} for {self.lead} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def created_by_system(self) -> bool:
        return self.created_by_id is None


class TimelineEntry(models.Model):
    """What happened to a lead that has no table of its own: stage changes, imports, merges, edits."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STAGE_CHANGED = "stage_changed", "Stage changed"
        OWNER_CHANGED = "owner_changed", "Owner changed"
        DO_NOT_CALL = "do_not_call", "Do-not-call changed"
        IMPORTED = "imported", "Imported"
        MET_AGAIN = "met_again", "Met again"
        MERGED = "merged", "Merged"
        SNOOZED = "snoozed", "Stale flag snoozed"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="timeline_entries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="timeline_lead_at")]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return self.summary
