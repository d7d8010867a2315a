from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"

    def ready(self) -> None:
        from .models import Call

        # A call deleted any way but raw SQL (the admin, a lead's deletion cascading) leaves the totals exact.
        post_delete.connect(_call_deleted, sender=Call, dispatch_uid="calls.call_totals_after_delete")


def _call_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services import call_totals_refresh

    call_totals_refresh(lead_ids=[instance.lead_id], times=[instance.called_at])
