"""The API app: REST endpoints, API and calendar-feed tokens, inbound leads from website forms."""

from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "warmcrm.api"
    label = "api"
    verbose_name = "API and calendar feed"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import schema  # noqa: F401  registers the OpenAPI description of Bearer-token authentication
