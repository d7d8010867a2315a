"""API tokens, calendar-feed tokens and the log of inbound requests.

Only a SHA-256 hash of each secret is stored: a stolen database dump cannot be replayed against the API.
The secrets are 256-bit random values, so an unsalted hash is enough (the secret is not a password).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead


class ApiToken(models.Model):
    """A user's key to the API. `Authorization: Bearer wcrm_<prefix>_<secret>`."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal: everything you can do in WarmCRM"
        INBOUND = "inbound", "Website form: may only post inbound leads"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “dialer” or “website contact form”.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    prefix = models.CharField(max_length=16, unique=True, help_text="Visible part, to find the token and show it.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole token, hex.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class CalendarFeedToken(models.Model):
    """The secret in a user's private ICS URL. At most one active per user; a new one replaces it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed_tokens")
    secret_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the secret, hex.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendar_feed_one_active_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


class InboundRequest(models.Model):
    """One website-form submission: what was sent, which lead it became or merged into, who got it.

    It is the audit trail of the inbound endpoint and the memory of the round-robin (who was assigned last).
    """

    received_at = models.DateTimeField(default=timezone.now)
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="inbound_requests")
    created_lead = models.BooleanField(help_text="False when it was merged into an existing lead.")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The rep the round-robin gave a new lead to.",
    )
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["assigned_to", "-received_at"], name="inbound_assigned_at")]

    def __str__(self) -> str:
        return f"Inbound request {self.pk} → lead {self.lead_id}"
