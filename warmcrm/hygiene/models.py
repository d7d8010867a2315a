"""Pipeline hygiene: the lost reasons admins maintain and the likely-duplicate pairs the nightly job finds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from leads.models import Lead


class LostReason(models.Model):
    """A reason a lead can be lost for. Lead.lost_reason holds the chosen name (text, so history survives edits)."""

    name = models.CharField(max_length=200, unique=True)
    active = models.BooleanField(default=True, help_text="Inactive reasons stay on old leads but cannot be picked.")
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class DuplicatePair(models.Model):
    """Two leads that look like the same person. lead_a has the smaller id, so a pair is stored once.

    The leads are SET_NULL so a merged pair keeps its record (and a "not a duplicate" decision is only
    forgotten when one of the leads is deleted).
    """

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        NOT_DUPLICATE = "not_duplicate", "Not a duplicate"
        MERGED = "merged", "Merged"

    class Reason(models.TextChoices):
        EMAIL = "email", "Same email"
        PHONE = "phone", "Same phone"
        NAME = "name", "Similar name and company"

    lead_a = models.ForeignKey(Lead, null=True, on_delete=models.SET_NULL, related_name="+")
    lead_b = models.ForeignKey(Lead, null=True, on_delete=models.SET_NULL, related_name="+")
    reasons = models.JSONField(default=list, help_text="Reason codes: email, phone, name.")
    score = models.PositiveSmallIntegerField(default=100, help_text="100 for exact matches; the fuzzy score else.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True, help_text="Who the two leads were, for the record.")

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["status", "-score"], name="duplicate_pair_status")]
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="duplicate_pair_once"),
            models.CheckConstraint(condition=Q(lead_a__lt=F("lead_b")), name="duplicate_pair_ordered"),
        ]

    def __str__(self) -> str:
        return self.summary or f"Leads {self.lead_a_id} and {self.lead_b_id}"

    def reason_labels(self) -> list[str]:
        labels = dict(self.Reason.choices)
        return [labels.get(code, code) for code in self.reasons]
