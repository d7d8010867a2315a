"""Referral sources (people and organisations that refer prospects) and the referrals they made."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leads.contact import InvalidPhone, normalize_email, normalize_phone
from leads.models import Lead


class ReferralSource(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        PARTNER = "partner", "Partner"
        COLLEAGUE = "colleague", "Colleague"
        FRIEND = "friend", "Friend or acquaintance"
        SUPPLIER = "supplier", "Supplier"
        PROSPECT = "prospect", "Prospect"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    organisation = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    phone_e164 = models.CharField(max_length=20, blank=True, editable=False)
    lead = models.OneToOneField(
        Lead,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="as_referrer",
        help_text="The lead or customer this referrer is, if they are one.",
    )
    notes = models.TextField(blank=True)
    referrals_converted = models.PositiveIntegerField(
        default=0, editable=False, help_text="Referred leads that were won; refreshed by the warmth job."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name"], name="referrer_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name

    def clean_fields(self, exclude: Any = None) -> None:
        self.email = normalize_email(self.email)  # before EmailValidator sees the surrounding spaces
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        try:
            self.phone_e164 = normalize_phone(self.phone, region=settings.PHONE_DEFAULT_REGION)
        except InvalidPhone as exc:
            raise ValidationError({"phone": str(exc)}) from exc


class Referral(models.Model):
    """Referrer -> referred lead. A lead comes from at most one referral."""

    source = models.ForeignKey(ReferralSource, on_delete=models.PROTECT, related_name="referrals")
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="referral")
    referred_on = models.DateField(default=timezone.localdate)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-referred_on", "-id"]
        indexes = [models.Index(fields=["source", "-referred_on"], name="referral_source_date")]

    def __str__(self) -> str:
        return f"{self.source} referred {self.lead}"
