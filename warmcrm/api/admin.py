"""Admin for API tokens and inbound requests: read and revoke, never see a secret (only hashes are stored)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import ApiToken, CalendarFeedToken, InboundRequest


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "kind", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind", "revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "prefix", "key_hash", "kind", "created_at", "last_used_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created on the profile page, where the secret is shown once


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "secret_hash", "created_at", "last_used_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(InboundRequest)
class InboundRequestAdmin(admin.ModelAdmin):
    list_display = ["received_at", "lead", "created_lead", "assigned_to", "token"]
    list_filter = ["created_lead"]
    raw_id_fields = ["lead", "assigned_to", "token"]
    list_select_related = ["lead", "assigned_to", "token"]
