"""Admin for referral sources and referrals."""

from __future__ import annotations

from django.contrib import admin

from .models import Referral, ReferralSource


@admin.register(ReferralSource)
class ReferralSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "organisation", "email", "phone"]
    list_filter = ["kind"]
    search_fields = ["name", "organisation", "email", "phone"]
    raw_id_fields = ["lead"]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ["source", "lead", "referred_on"]
    list_filter = ["referred_on", "source__kind"]
    search_fields = ["source__name", "lead__first_name", "lead__last_name", "lead__company", "note"]
    list_select_related = ["source", "lead"]
    raw_id_fields = ["source", "lead"]
