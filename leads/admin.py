"""Admin for leads, events, follow-ups and timeline entries (admins only, see leads.roles)."""

from __future__ import annotations

from django.contrib import admin

from .models import Event, FollowUp, Lead, TimelineEntry


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "date", "place"]
    list_filter = ["date"]
    search_fields = ["name", "place"]
    date_hierarchy = "date"


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company", "owner", "stage", "connection_type", "warmth", "warmth_band", "do_not_call"]
    list_filter = ["stage", "connection_type", "warmth_band", "do_not_call", "owner", "event"]
    search_fields = ["first_name", "last_name", "company", "email", "phone", "phone_e164"]
    list_select_related = ["owner"]
    raw_id_fields = ["event"]
    readonly_fields = ["phone_e164", "warmth", "warmth_band", "warmth_computed_at", "created_at", "updated_at"]


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["lead", "owner", "due_at", "reason", "status", "created_by"]
    list_filter = ["status", "reason", "owner"]
    search_fields = ["lead__first_name", "lead__last_name", "lead__company", "status_note"]
    list_select_related = ["lead", "owner", "created_by"]
    raw_id_fields = ["lead"]
    date_hierarchy = "due_at"


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ["lead", "kind", "actor", "at", "summary"]
    list_filter = ["kind"]
    search_fields = ["summary", "lead__first_name", "lead__last_name", "lead__company"]
    list_select_related = ["lead", "actor"]
    raw_id_fields = ["lead"]
