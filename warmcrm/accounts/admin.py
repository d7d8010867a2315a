from __future__ import annotations

from django.contrib import admin

from .models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone", "digest_hour", "digest_opt_out", "last_digest_on"]
    list_filter = ["digest_opt_out"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["last_digest_on"]
